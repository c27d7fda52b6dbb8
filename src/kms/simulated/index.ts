/**
 * The simulated key service: stands in for AWS KMS with Recipient, so the
 * enclave's client (src/kms/client.ts) runs unchanged in simulation. It owns
 * the HTTPS/JSON front (server.ts), the operations (operations.ts), key
 * policies (policy.ts), the Recipient check (recipient.ts), its ciphertext
 * format (blob.ts), its keys (keystore.ts), TLS identity (tls.ts) and the SigV4
 * verifier (sigv4.ts). docs/kms.md describes the protocol subset and formats.
 */
export { startKeyService, type KeyService, type KeyServiceOptions, type KeyServiceCredentials } from './server.js';
export { createKey, loadKey, type KeyMetadata } from './keystore.js';
export { parsePolicy, isAllowed, DEFAULT_POLICY, type KeyPolicy, type RequestContext, type KmsAction } from './policy.js';
