/**
 * Sealing and opening single blobs. Pure functions, used on the main thread
 * and inside worker threads alike (src/repository/workers.ts).
 */
import { equalBytes, hmacSha256, NONCE_BYTES, open, openInto, seal, sealInto } from '../crypto/index.js';
import { decompressExact, decompressTransient } from '../compress/index.js';
import { EbakError } from '../errors.js';
import { blobAad, FLAG_ZSTD } from './format/pack.js';

/** Encrypts an (optionally already compressed) blob: nonce ‖ ciphertext ‖ tag. */
export function sealBlob(packKey: Uint8Array, type: number, id: Uint8Array, rawLength: number, body: Uint8Array, compressed: boolean): Buffer {
  return seal(packKey, body, blobAad(type, compressed ? FLAG_ZSTD : 0, rawLength, id));
}

/**
 * sealBlob into the buffer `data` lies in (a chunk buffer, blobbuffers.ts:
 * NONCE_BYTES free before it, TAG_BYTES after): the sealed blob replaces
 * the plaintext, and a view of it is returned. `packed`, the compressed
 * body when compression shrank it, is copied in (it is shorter).
 */
export function sealBlobInPlace(packKey: Uint8Array, type: number, id: Uint8Array, data: Uint8Array, packed: Uint8Array | undefined): Buffer {
  const out = Buffer.from(data.buffer, data.byteOffset - NONCE_BYTES, data.buffer.byteLength - data.byteOffset + NONCE_BYTES);
  const aad = blobAad(type, packed ? FLAG_ZSTD : 0, data.length, id);
  return out.subarray(0, sealInto(packKey, packed ?? data, aad, out, 0));
}

/**
 * A sealed blob (`sealed`: nonce ‖ ciphertext ‖ tag) opened under `fromKey`
 * and sealed again under `toKey` where it lies, its body (compressed or not)
 * kept: the packer moving a large blob from one pack to another
 * (packer.ts foldSmall) makes no buffer of its size. Throws AUTH_FAILED,
 * the bytes zeroed, when it does not authenticate.
 */
export function resealInPlace(fromKey: Uint8Array, toKey: Uint8Array, ref: BlobRef, sealed: Buffer, what: string): Buffer {
  const aad = blobAad(ref.type, ref.flags, ref.rawLength, ref.id);
  const body = openInto(fromKey, sealed, aad, what, inPlace(sealed));
  return sealed.subarray(0, sealInto(toKey, body, aad, sealed, 0));
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
 * `transient`, for a caller that is done with the plaintext before opening
 * another: the blob is decrypted where it lies (`sealed` is overwritten, and
 * wiped if it does not open), and a compressed one decompressed into a
 * per-thread buffer that the next transient open reuses (compress/index.ts);
 * the plaintext is a view of one or the other. A buffer of the blob's size
 * per open, or per thread, was memory the run's range already held.
 */
export function openBlob(packKey: Uint8Array, blobKey: Uint8Array, ref: BlobRef, sealed: Uint8Array, what: string, transient = false): Buffer {
  const aad = blobAad(ref.type, ref.flags, ref.rawLength, ref.id);
  const body = transient ? openInto(packKey, sealed, aad, what, inPlace(sealed)) : open(packKey, sealed, aad, what);
  const plain = ref.flags & FLAG_ZSTD ? (transient ? decompressTransient : decompressExact)(body, ref.rawLength, what) : body;
  if (plain.length !== ref.rawLength || !equalBytes(hmacSha256(blobKey, plain), ref.id))
    throw new EbakError('AUTH_FAILED', `${what}: content does not match its id`);
  return plain;
}

/** Where a sealed blob's plaintext goes when it is opened where it lies: over its ciphertext (crypto openInto). */
function inPlace(sealed: Uint8Array): Buffer {
  return Buffer.from(sealed.buffer, sealed.byteOffset + NONCE_BYTES, Math.max(0, sealed.byteLength - NONCE_BYTES));
}
