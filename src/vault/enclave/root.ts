/**
 * Obtaining the enclave root secret R at boot, through an attestation-gated
 * key service (AWS KMS with Recipient in production, the simulated key
 * service elsewhere: the same protocol and client, src/kms).
 *
 * First boot: GenerateDataKey with Recipient. The key service answers R
 * encrypted to an RSA key that exists only in this process (bound into an
 * attestation document it verified against its policy) and R under its own
 * key (the CiphertextBlob). The host stores the blob as the plain row
 * `enclave/root`; every later boot (and every replica) asks the key service
 * to Decrypt it, again with Recipient. The host holds the blob, its database
 * and the HSM, and still cannot obtain R: the key service refuses a document
 * it did not see signed by the attestation root with the policy's PCRs, and
 * answers a replayed genuine document with ciphertext for the enclave's key.
 *
 * A store that holds records but no root blob is refused: the host deleted
 * it, and a fresh R would make the vault forget (and re-create) everything.
 */
import { EbakError } from '../../errors.js';
import type { StateStore } from '../state/store.js';
import { EnclaveKeys } from './keys.js';
import { secretContext } from './secrets.js';

export const ROOT_ID = 'enclave/root';
/** Bound into every key service call (KMS encryption context: authenticated, logged in the clear). */
const CONTEXT = secretContext('vault-root');

/** What the vault needs of the key service (src/kms RecipientKms in both modes). */
export interface KeyService {
  generateDataKey(context: Record<string, string>): Promise<{ plaintext: Buffer; ciphertextBlob: Buffer }>;
  decrypt(ciphertextBlob: Uint8Array, context: Record<string, string>): Promise<Buffer>;
}

export async function unlockEnclave(store: StateStore, kms: KeyService): Promise<EnclaveKeys> {
  const row = await store.get(ROOT_ID);
  if (row) return fromBlob(kms, row.sealed);
  if ((await store.list('')).length > 0) {
    throw new EbakError('VAULT', `the state store holds vault records but no ${ROOT_ID} blob: it was deleted, so the vault cannot open its state`, {
      hint: 'restore the state store from a backup (the blob is one row of it); the vault does not start over on existing state',
    });
  }
  const { plaintext, ciphertextBlob } = await kms.generateDataKey({ ...CONTEXT });
  try {
    if (await store.put(ROOT_ID, 1, ciphertextBlob, undefined)) return new EnclaveKeys(plaintext);
  } finally {
    plaintext.fill(0);
  }
  const raced = await store.get(ROOT_ID); // another replica's first boot won: use its root
  if (!raced) throw new EbakError('VAULT', `cannot store ${ROOT_ID} in the state store`);
  return fromBlob(kms, raced.sealed);
}

async function fromBlob(kms: KeyService, blob: Uint8Array): Promise<EnclaveKeys> {
  const root = await kms.decrypt(blob, { ...CONTEXT });
  try {
    return new EnclaveKeys(root);
  } finally {
    root.fill(0);
  }
}
