/**
 * Sealing and opening single blobs. Pure functions, used on the main thread
 * and inside worker threads alike (src/repository/workers.ts).
 */
import { equalBytes, hmacSha256, open, seal } from '../crypto/index.js';
import { decompressExact, decompressTransient } from '../compress/index.js';
import { EbakError } from '../errors.js';
import { blobAad, FLAG_ZSTD } from './format/pack.js';

/** Encrypts an (optionally already compressed) blob: nonce ‖ ciphertext ‖ tag. */
export function sealBlob(packKey: Uint8Array, type: number, id: Uint8Array, rawLength: number, body: Uint8Array, compressed: boolean): Buffer {
  return seal(packKey, body, blobAad(type, compressed ? FLAG_ZSTD : 0, rawLength, id));
}

export interface BlobRef {
  type: number;
  flags: number;
  rawLength: number;
  id: Uint8Array;
}

/**
 * Authenticates, decrypts, decompresses, then checks the plaintext's keyed
 * hash equals the id it was asked for: a blob is trusted only if all hold.
 * `transient`: a compressed blob's plaintext is a view of a per-thread buffer
 * that the next transient open reuses (compress/index.ts), for a caller that
 * is done with it before opening another.
 */
export function openBlob(packKey: Uint8Array, blobKey: Uint8Array, ref: BlobRef, sealed: Uint8Array, what: string, transient = false): Buffer {
  const body = open(packKey, sealed, blobAad(ref.type, ref.flags, ref.rawLength, ref.id), what);
  const plain = ref.flags & FLAG_ZSTD ? (transient ? decompressTransient : decompressExact)(body, ref.rawLength, what) : body;
  if (plain.length !== ref.rawLength || !equalBytes(hmacSha256(blobKey, plain), ref.id))
    throw new EbakError('AUTH_FAILED', `${what}: content does not match its id`);
  return plain;
}
