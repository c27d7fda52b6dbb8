/**
 * The enclave's secrets that travel as key service ciphertexts: R (root.ts),
 * the HSM PIN (`ebak vault provision-pin`) and the delete credentials
 * (`ebak vault provision-delete-credentials`, docs/retention.md). Each is
 * bound to its own encryption context, which KMS authenticates with the
 * ciphertext, so a ciphertext made for one purpose never opens as another:
 * a PIN blob given as delete credentials fails to decrypt, and vice versa.
 * Anyone may encrypt to the key; only a Recipient attestation of this build
 * gets a plaintext (the key policy, `ebak vault measure --key-policy`).
 */
import { EbakError, isEbakError } from '../../errors.js';

export type SecretPurpose = 'vault-root' | 'hsm-pin' | 'vault-delete-credentials';

/** The encryption context of `purpose` (logged in the clear by KMS: it names, never holds, the secret). */
export const secretContext = (purpose: SecretPurpose): Record<string, string> => ({ 'ebak:purpose': purpose, 'ebak:format': '1' });

/** What sealing and opening need of the key service (src/kms RecipientKms). */
export interface SecretKms {
  encrypt(plaintext: Uint8Array, context: Record<string, string>): Promise<Buffer>;
  decrypt(ciphertextBlob: Uint8Array, context: Record<string, string>): Promise<Buffer>;
}

/** Opens one provisioned secret inside the enclave; `what` names its source in errors (a flag and file). */
export type Unseal = (purpose: SecretPurpose, blob: Uint8Array, what: string) => Promise<Buffer>;

/** Encrypts `plaintext` under the key for `purpose` (provisioning: no attestation involved). */
export function sealSecret(kms: SecretKms, purpose: SecretPurpose, plaintext: Uint8Array): Promise<Buffer> {
  return kms.encrypt(plaintext, secretContext(purpose));
}

/** KMS's answers for a ciphertext that is not this key's under this context: bad input, not a failing service. */
const NOT_THIS_SECRET = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/**
 * Decrypts a provisioned secret with a Recipient attestation. A ciphertext
 * made for another purpose or key, or altered, is USAGE; a key policy that
 * refuses this build stays VAULT (AccessDenied: no plaintext was released).
 */
export async function unsealSecret(kms: SecretKms, purpose: SecretPurpose, blob: Uint8Array, what: string): Promise<Buffer> {
  try {
    return await kms.decrypt(blob, secretContext(purpose));
  } catch (e) {
    if (!isEbakError(e)) throw e;
    const name = (e.cause as { name?: string } | undefined)?.name ?? '';
    if (NOT_THIS_SECRET.has(name)) throw new EbakError('USAGE', `${what}: the key service cannot open it as ${purpose} (made for another purpose or key, or altered): ${e.message}`, { cause: e });
    throw new EbakError(e.code, `${what}: ${e.message}`, { cause: e });
  }
}
