/**
 * Encrypted repository objects: config, index, snapshot, lock and retention files
 * (docs/format.md, "Encrypted object"). Layout:
 *   magic "EBKO" | version u8 | type u8 | flags u8 | salt[16] | nonce[12] | ciphertext | tag[16]
 * key = HKDF(objectKey, salt, "ebak/v1/object"); AAD = the 23 header bytes
 * before the nonce, so the type (what the object claims to be) and the
 * compression flag are authenticated: a snapshot cannot pose as an index.
 *
 * Version 2 (written only by write-only credentials, docs/format.md,
 * "Write-only credentials"):
 *   magic | version=2 | type | flags | keySource (1, or 2 + generation) | enc[32] | deviceWrap[60] | nonce | ciphertext | tag
 * objectKey = the HPKE export "object" of `enc` (format/hpke.ts), AAD = the
 * 100 header bytes; deviceWrap = GCM(deviceKey, objectKey) under its own
 * AAD, so the credential reopens its own objects and nothing else. Getting
 * objectKey is the caller's (async, and different for each side); this file
 * only lays out and checks the bytes.
 *
 * Version 3 (a rotated repository, docs/format.md, "Master-key rotation"):
 * version 1 with one more header byte, the generation (1…127) of the master
 * key it is sealed under, before the salt; AAD = the 24 header bytes. The
 * caller picks the object key of that generation (objectGeneration).
 */
import { compressIfSmaller, decompressBounded } from '../../compress/index.js';
import { deriveKey, NONCE_BYTES, open, random, seal, TAG_BYTES } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import { ENC_BYTES } from './hpke.js';
import { keySourceGeneration, writeOnlyKeySource } from './pack.js';

export const OBJECT_MAGIC = Buffer.from('EBKO');
export const OBJECT_VERSION = 1;
/** Objects sealed to the repository's public key (key source 1). */
export const OBJECT_VERSION_SEALED = 2;
/** Objects sealed under a master key of generation 1 and later (a rotation's). */
export const OBJECT_VERSION_GENERATION = 3;
/** The newest master-key generation a header may name (the pack key source byte holds 0x80 + generation). */
export const MAX_GENERATION = 127;
const HEADER_BYTES = 23;
const GENERATION_HEADER_BYTES = 24;
const WRAP_BYTES = 12 + 32 + 16;
const SEALED_HEADER_BYTES = 8 + ENC_BYTES + WRAP_BYTES;
const WRAP_AAD_LABEL = Buffer.from('ebak/v1/device-wrap');
const FLAG_ZSTD = 1;
/** Largest decompressed object a reader accepts (an index file is far smaller). */
const MAX_OBJECT_BYTES = 512 * 1024 * 1024;

export const ObjectType = { config: 1, index: 2, snapshot: 3, lock: 4, retention: 5 } as const;
export type ObjectTypeName = keyof typeof ObjectType;

/** Seals a version 1 object (generation 0, the repository's first master key) or, for a later generation, a version 3 one. */
export function encodeObject(objectKey: Uint8Array, type: ObjectTypeName, payload: Uint8Array, generation = 0): Buffer {
  const packed = compressIfSmaller(payload, 3);
  const size = generation === 0 ? HEADER_BYTES : GENERATION_HEADER_BYTES;
  const header = Buffer.alloc(size);
  OBJECT_MAGIC.copy(header, 0);
  header[4] = generation === 0 ? OBJECT_VERSION : OBJECT_VERSION_GENERATION;
  header[5] = ObjectType[type];
  header[6] = packed !== undefined ? FLAG_ZSTD : 0;
  if (generation !== 0) header[7] = checkedGeneration(generation);
  random(16).copy(header, size - 16);
  const key = deriveKey(objectKey, 'object', header.subarray(size - 16));
  return seal(key, packed ?? payload, header, undefined, header);
}

/**
 * Authenticates, then decrypts and decompresses a version 1 or 3 object;
 * `objectKey` is that of the generation objectGeneration names. `what`
 * names the object in errors.
 */
export function decodeObject(objectKey: Uint8Array, type: ObjectTypeName, data: Buffer, what: string): Buffer {
  const version = objectVersion(data, type, what);
  if (version === OBJECT_VERSION_SEALED) throw new EbakError('UNSUPPORTED_VERSION', `${what}: object format version ${data[4]} is not supported here`);
  const size = version === OBJECT_VERSION ? HEADER_BYTES : GENERATION_HEADER_BYTES;
  if (version === OBJECT_VERSION_GENERATION) objectGeneration(data, type, what);
  const header = data.subarray(0, size);
  const key = deriveKey(objectKey, 'object', header.subarray(size - 16));
  return unpack(open(key, data.subarray(size), header, what), data[6]!, what);
}

/**
 * The master-key generation a version 1 (0) or version 3 object is sealed
 * under, checked before authentication: a version 3 generation outside
 * 1…127 is one this ebak does not know. (Version 2 objects are key source
 * 1, of generation 0: the caller tells them apart by objectVersion.)
 */
export function objectGeneration(data: Buffer, type: ObjectTypeName, what: string): number {
  const version = objectVersion(data, type, what);
  if (version !== OBJECT_VERSION_GENERATION) return 0;
  if (data.length < GENERATION_HEADER_BYTES) throw new EbakError('AUTH_FAILED', `${what}: truncated`);
  if (data[7] === 0 || data[7]! > MAX_GENERATION) throw new EbakError('UNSUPPORTED_VERSION', `${what}: master-key generation ${data[7]} is not supported by this ebak`);
  return data[7]!;
}

function checkedGeneration(g: number): number {
  if (!Number.isInteger(g) || g < 1 || g > MAX_GENERATION) throw new EbakError('USAGE', `master-key generation ${g} is outside 1…${MAX_GENERATION}`);
  return g;
}

/**
 * The checks before authentication, common to every version: magic, a known
 * version (returned), the expected type. The version says how to authenticate.
 */
export function objectVersion(data: Buffer, type: ObjectTypeName, what: string): number {
  if (data.length < HEADER_BYTES || !data.subarray(0, 4).equals(OBJECT_MAGIC))
    throw new EbakError('AUTH_FAILED', `${what}: not an ebak object (bad magic; altered or corrupted)`);
  if (data[4] !== OBJECT_VERSION && data[4] !== OBJECT_VERSION_SEALED && data[4] !== OBJECT_VERSION_GENERATION)
    throw new EbakError('UNSUPPORTED_VERSION', `${what}: object format version ${data[4]} is not supported by this ebak`);
  if (data[5] !== ObjectType[type]) throw new EbakError('AUTH_FAILED', `${what}: object is not a ${type} (altered or misplaced)`);
  return data[4]!;
}

/** The parts of a version 2 header a reader needs to find its object key. */
export interface SealedHeader {
  enc: Buffer;
  deviceWrap: Buffer;
  /** magic … enc: what deviceWrap is bound to. */
  wrapAad: Buffer;
  /** The writer's generation: key source 1 is generation 0's, 2 + g generation g's (format/pack.ts). */
  generation: number;
}

/** A version 2 object's header, checked as far as it can be before its key is known. */
export function sealedHeader(data: Buffer, type: ObjectTypeName, what: string): SealedHeader {
  if (objectVersion(data, type, what) !== OBJECT_VERSION_SEALED) throw new EbakError('UNSUPPORTED_VERSION', `${what}: not a version 2 object`);
  const source = keySourceGeneration(data[7]!);
  if (!source?.writeOnly) throw new EbakError('UNSUPPORTED_VERSION', `${what}: object key source ${data[7]} is not supported by this ebak`);
  if (data.length < SEALED_HEADER_BYTES + NONCE_BYTES + TAG_BYTES) throw new EbakError('AUTH_FAILED', `${what}: truncated`);
  return {
    generation: source.generation,
    enc: Buffer.from(data.subarray(8, 8 + ENC_BYTES)),
    deviceWrap: Buffer.from(data.subarray(8 + ENC_BYTES, SEALED_HEADER_BYTES)),
    wrapAad: wrapAad(data.subarray(0, 8 + ENC_BYTES)),
  };
}

/**
 * Version 2: the object key comes from HPKE (`enc`), and is also wrapped to
 * the writer's device key; `wrapNonce` (12 bytes, random unless given) is
 * the wrap's GCM nonce (a credential marks its own objects in it).
 */
export function encodeSealedObject(k: { objectKey: Uint8Array; enc: Uint8Array; deviceKey: Uint8Array; wrapNonce?: Uint8Array; generation?: number }, type: ObjectTypeName, payload: Uint8Array): Buffer {
  const packed = compressIfSmaller(payload, 3);
  const head = Buffer.alloc(8 + ENC_BYTES);
  OBJECT_MAGIC.copy(head, 0);
  head[4] = OBJECT_VERSION_SEALED;
  head[5] = ObjectType[type];
  head[6] = packed !== undefined ? FLAG_ZSTD : 0;
  head[7] = writeOnlyKeySource(k.generation ?? 0);
  Buffer.from(k.enc).copy(head, 8);
  const header = Buffer.concat([head, seal(k.deviceKey, k.objectKey, wrapAad(head), k.wrapNonce)]);
  return seal(k.objectKey, packed ?? payload, header, undefined, header);
}

/** Opens a version 2 object's body under its object key (AAD: the whole header). */
export function openSealedObject(objectKey: Uint8Array, data: Buffer, what: string): Buffer {
  const header = data.subarray(0, SEALED_HEADER_BYTES);
  return unpack(open(objectKey, data.subarray(SEALED_HEADER_BYTES), header, what), data[6]!, what);
}

/** The object key a device wrapped for itself; undefined when `deviceKey` is not the writer's (not its own object). */
export function unwrapObjectKey(deviceKey: Uint8Array, h: SealedHeader, what: string): Buffer | undefined {
  try {
    const key = open(deviceKey, h.deviceWrap, h.wrapAad, what);
    return key.length === 32 ? key : undefined;
  } catch (e) {
    if (e instanceof EbakError && e.code === 'AUTH_FAILED') return undefined;
    throw e;
  }
}

function wrapAad(head: Uint8Array): Buffer {
  return Buffer.concat([WRAP_AAD_LABEL, head]);
}

/** After authentication: the flags, then decompression. */
function unpack(plain: Buffer, flags: number, what: string): Buffer {
  if (flags & ~FLAG_ZSTD) throw new EbakError('CORRUPT', `${what}: unknown flags`);
  return flags & FLAG_ZSTD ? decompressBounded(plain, MAX_OBJECT_BYTES, what) : plain;
}
