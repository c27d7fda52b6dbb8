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
  const body = openInto(fromKey, sealed, aad, what, sealed.subarray(NONCE_BYTES));
  return sealed.subarray(0, sealInto(toKey, body, aad, sealed, 0));
}

export interface BlobRef {
  type: number;
  flags: number;
  rawLength: number;
  id: Uint8Array;
}

/** Reused decryption output of transient opens: one per thread, grown to the largest blob seen. */
let bodyScratch = Buffer.alloc(0);

/**
 * Authenticates, decrypts, decompresses, then checks the plaintext's keyed
 * hash equals the id it was asked for: a blob is trusted only if all hold.
 * `transient`: the plaintext is a view of a per-thread buffer that the next
 * transient open reuses (here and in compress/index.ts), for a caller that
 * is done with it before opening another.
 */
export function openBlob(packKey: Uint8Array, blobKey: Uint8Array, ref: BlobRef, sealed: Uint8Array, what: string, transient = false): Buffer {
  const aad = blobAad(ref.type, ref.flags, ref.rawLength, ref.id);
  if (transient && bodyScratch.length < sealed.length) bodyScratch = Buffer.allocUnsafeSlow(sealed.length);
  const body = transient ? openInto(packKey, sealed, aad, what, bodyScratch) : open(packKey, sealed, aad, what);
  const plain = ref.flags & FLAG_ZSTD ? (transient ? decompressTransient : decompressExact)(body, ref.rawLength, what) : body;
  if (plain.length !== ref.rawLength || !equalBytes(hmacSha256(blobKey, plain), ref.id))
    throw new EbakError('AUTH_FAILED', `${what}: content does not match its id`);
  return plain;
}
