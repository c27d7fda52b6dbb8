/**
 * Encrypted repository objects: config, index, snapshot and lock files
 * (docs/format.md, "Encrypted object"). Layout:
 *   magic "EBKO" | version u8 | type u8 | flags u8 | salt[16] | nonce[12] | ciphertext | tag[16]
 * key = HKDF(objectKey, salt, "ebak/v1/object"); AAD = the 23 header bytes
 * before the nonce, so the type (what the object claims to be) and the
 * compression flag are authenticated: a snapshot cannot pose as an index.
 */
import { compressIfSmaller, decompressBounded } from '../../compress/index.js';
import { deriveKey, open, random, seal } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';

export const OBJECT_MAGIC = Buffer.from('EBKO');
export const OBJECT_VERSION = 1;
const HEADER_BYTES = 23;
const FLAG_ZSTD = 1;
/** Largest decompressed object a reader accepts (an index file is far smaller). */
const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

export const ObjectType = { config: 1, index: 2, snapshot: 3, lock: 4 } as const;
export type ObjectTypeName = keyof typeof ObjectType;

export function encodeObject(objectKey: Uint8Array, type: ObjectTypeName, payload: Uint8Array): Buffer {
  const packed = compressIfSmaller(payload, 3);
  const useZstd = packed !== undefined;
  const header = Buffer.alloc(HEADER_BYTES);
  OBJECT_MAGIC.copy(header, 0);
  header[4] = OBJECT_VERSION;
  header[5] = ObjectType[type];
  header[6] = useZstd ? FLAG_ZSTD : 0;
  random(16).copy(header, 7);
  const key = deriveKey(objectKey, 'object', header.subarray(7, 23));
  return Buffer.concat([header, seal(key, packed ?? payload, header)]);
}

/** Authenticates, then decrypts and decompresses. `what` names the object in errors. */
export function decodeObject(objectKey: Uint8Array, type: ObjectTypeName, data: Buffer, what: string): Buffer {
  if (data.length < HEADER_BYTES || !data.subarray(0, 4).equals(OBJECT_MAGIC))
    throw new EbakError('AUTH_FAILED', `${what}: not an ebak object (bad magic; altered or corrupted)`);
  if (data[4] !== OBJECT_VERSION)
    throw new EbakError('UNSUPPORTED_VERSION', `${what}: object format version ${data[4]} is not supported by this ebak`);
  if (data[5] !== ObjectType[type]) throw new EbakError('AUTH_FAILED', `${what}: object is not a ${type} (altered or misplaced)`);
  const header = data.subarray(0, HEADER_BYTES);
  const key = deriveKey(objectKey, 'object', header.subarray(7, 23));
  const plain = open(key, data.subarray(HEADER_BYTES), header, what);
  if (data[6]! & ~FLAG_ZSTD) throw new EbakError('CORRUPT', `${what}: unknown flags`);
  return data[6]! & FLAG_ZSTD ? decompressBounded(plain, MAX_OBJECT_BYTES, what) : plain;
}
