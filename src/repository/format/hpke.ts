/**
 * Key source 1 (docs/format.md, "Write-only credentials"): the repository
 * key pair and both ends of RFC 9180 HPKE as ebak uses it. One fixed suite:
 * DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, the export-only AEAD, base mode,
 * info = "ebak/v1/write-only" ‖ the repository id's 32 bytes. Keys come out
 * of the secret-export interface (RFC 9180 §5.3) under a label ("pack",
 * "object"); nothing here is a construction of ebak's own.
 *
 * The key pair is derived from K (DeriveKeyPair, RFC 9180 §7.1.3, from
 * HKDF(K, "", "write-only")), so a full key holds it without storing
 * anything new; a write-only credential carries only the public key.
 */
import type { CipherSuite } from '@hpke/core';
import { EbakError } from '../../errors.js';

/** The length of `enc` for X25519 (RFC 9180 §7.1: Nenc = 32), stored where a pack's salt is. */
export const ENC_BYTES = 32;

// Loaded on first use: most commands never touch key source 1, and @hpke's
// 40-odd modules cost a start-up ~60 ms of CPU.
let loaded: Promise<CipherSuite> | undefined;
function suite(): Promise<CipherSuite> {
  loaded ??= import('@hpke/core').then((h) => new h.CipherSuite({ kem: new h.DhkemX25519HkdfSha256(), kdf: new h.HkdfSha256(), aead: new h.ExportOnly() }));
  return loaded;
}
const INFO_LABEL = Buffer.from('ebak/v1/write-only');

export type ExportLabel = 'pack' | 'object';

/** What a holder of K opens key source 1 with. */
export interface RepositoryKeyPair {
  /** The 32-byte X25519 public key, as RFC 9180's SerializePublicKey gives it. */
  publicKey: Buffer;
  recipient: CryptoKeyPair;
}

/** The key pair of a repository, from `seed` = HKDF(K, "", "write-only") (`Repository.subKeys`). */
export async function repositoryKeyPair(seed: Uint8Array): Promise<RepositoryKeyPair> {
  const { kem } = await suite();
  const recipient = await kem.deriveKeyPair(seed);
  return { publicKey: Buffer.from(await kem.serializePublicKey(recipient.publicKey)), recipient };
}

function info(repositoryId: string): Buffer {
  return Buffer.concat([INFO_LABEL, Buffer.from(repositoryId, 'hex')]);
}

/**
 * A fresh key for `label` sealed to the repository's public key: `enc` is
 * stored, `key` used. `ekm` fixes the ephemeral key (test vectors only).
 */
export async function sealedKey(publicKey: Uint8Array, repositoryId: string, label: ExportLabel, ekm?: Uint8Array): Promise<{ enc: Buffer; key: Buffer }> {
  const s = await suite();
  const recipientPublicKey = await s.kem.deserializePublicKey(publicKey);
  const ctx = await s.createSenderContext({ recipientPublicKey, info: info(repositoryId), ...(ekm ? { ekm } : {}) });
  return { enc: Buffer.from(ctx.enc), key: Buffer.from(await ctx.export(Buffer.from(label), 32)) };
}

/** The key `enc` carries, for a holder of the key pair; AUTH_FAILED when `enc` is no usable public key (altered). */
export async function openedKey(pair: RepositoryKeyPair, repositoryId: string, label: ExportLabel, enc: Uint8Array, what: string): Promise<Buffer> {
  const s = await suite();
  let ctx;
  try {
    ctx = await s.createRecipientContext({ recipientKey: pair.recipient, enc, info: info(repositoryId) });
  } catch {
    // RFC 9180 §7.1.4: a DH output of zero (a low-order enc) aborts; so does a malformed enc.
    throw new EbakError('AUTH_FAILED', `${what}: its key cannot be opened (altered or corrupted)`);
  }
  return Buffer.from(await ctx.export(Buffer.from(label), 32));
}
