/**
 * The vault server (the enclave application). boot.ts wires it; service.ts
 * is the façade over its duties; http.ts is the HTTPS front. docs/vault.md
 * is the reference, docs/security.md the threat model as built.
 */
export { startVault, type RunningVault, type VaultOptions } from './boot.js';
export type { Attester } from './http.js';
