/**
 * Key custody, age-style: one concept for who can open a repository's
 * master key K and what a key is wrapped to.
 *
 * - An `Identity` unwraps K from what it holds: a password or recovery key
 *   opens a key file under keys/ (keyfile.ts), a vault device session asks
 *   the vault for this machine's device key (device.ts).
 * - A `Recipient` is what a key is wrapped to: password and recovery key
 *   files. Write-only credentials seal their pack and object keys to the
 *   repository public key (key source 1, repository/writeonly/); a password
 *   or a write-only vault device (writeonly.ts) may open such a credential
 *   instead of K, and then only backups run.
 *
 * The byte formats stay with their layers (repository/format/keyfile.ts,
 * vault/envelope.ts). This folder decides which identity opens a repository
 * (open.ts) and composes the vault flows with the repository (vault.ts,
 * and head.ts for the repository head), so the vault client never sees a
 * Repository.
 */
export type { Identity, Recipient, Unwrapped } from './identity.js';
export { keyFileIdentity, passwordIdentity, passwordRecipient, recoveryIdentity, recoveryRecipient } from './keyfile.js';
export { deviceIdentity, deviceVault } from './device.js';
export { identitiesFor, openBackupSession, openRepository, openSession, opensWriteOnly, type IdentityChoice, type OpenedRepository } from './open.js';
export { checkHead, type VaultHead } from './head.js';
export { initVaultRepository, loginVault } from './vault.js';
export { addWriteOnlyDevice, enrollWriteOnly } from './writeonly.js';
