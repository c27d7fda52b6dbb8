/**
 * Envelope encryption for the vault's sealed state: a fresh 32-byte data key
 * per record, wrapped by the ring's current KEK in the HSM; AES-256-GCM over
 * the record in this process, with the record's id and version in the AAD so
 * a record cannot be swapped for another or for an older version of itself.
 *
 * Sealed record (docs/hsm.md, "Sealed record"):
 *   0 4 magic "EBSR" | 4 1 version | 5 2 w (u16 BE) | 7 w wrapped data key (key blob v1)
 *   | 12 iv | ciphertext ‖ tag(16)
 *   AAD = bytes [0, 7+w) ‖ u16 BE len(id) ‖ id (UTF-8) ‖ u64 BE record version
 * v1: the GCM key is the data key (whoever can use the HSM can open it).
 * v2: the GCM key is HKDF-SHA-256(ikm = data key, salt = a 32-byte binding
 *     key, info "ebak/v1/sealed-record-v2"): opening needs the HSM AND the
 *     binding key. The vault binds to a key only the attested enclave holds
 *     (src/vault/enclave), so a host that can use the HSM still opens nothing.
 */
import { randomBytes } from 'node:crypto';
import { deriveKey, open, seal as gcmSeal } from '../crypto/index.js';
import { EbakError } from '../errors.js';
import type { KeyWrapper } from './hsm.js';

export interface RecordAad {
  readonly id: string;
  readonly version: number | bigint;
}

export interface SealOptions {
  /** 32 bytes: seals format 2, which opens only with the same key. */
  readonly bind?: Uint8Array;
  /** Injectable only so tests can reproduce the documented vectors. */
  readonly random?: (n: number) => Buffer;
}

const MAGIC = Buffer.from('EBSR', 'ascii');
const UNBOUND = 1;
const BOUND = 2;
export const DATA_KEY = 32;
const IV = 12;
const TAG = 16;

export function encodeRecordAad(aad: RecordAad): Buffer {
  const id = Buffer.from(aad.id, 'utf8');
  if (id.length > 0xffff) throw new EbakError('USAGE', 'record id is longer than 65535 bytes');
  const out = Buffer.alloc(2 + id.length + 8);
  out.writeUInt16BE(id.length, 0);
  id.copy(out, 2);
  out.writeBigUInt64BE(BigInt(aad.version), 2 + id.length);
  return out;
}

/** The GCM key of a record: the data key itself (v1) or bound to `bind` (v2). */
export function contentKey(dataKey: Buffer, bind: Uint8Array | undefined): Buffer {
  if (bind === undefined) return Buffer.from(dataKey);
  if (bind.length !== 32) throw new EbakError('USAGE', 'a sealed record binding key is 32 bytes');
  return deriveKey(dataKey, 'sealed-record-v2', bind);
}

/** Bytes [0, 7+w) of a sealed record: magic, format, w and the wrapped data key. */
export function sealedHeader(wrapped: Uint8Array, bound: boolean): Buffer {
  const head = Buffer.alloc(7);
  MAGIC.copy(head, 0);
  head[4] = bound ? BOUND : UNBOUND;
  head.writeUInt16BE(wrapped.length, 5);
  return Buffer.concat([head, wrapped]);
}

/** `record` sealed under `key` (the record's GCM key) behind `header`: the one place a sealed record is made. */
export function sealUnder(key: Buffer, header: Buffer, record: Uint8Array, aad: RecordAad, iv: Buffer = randomBytes(IV)): Buffer {
  return Buffer.concat([header, gcmSeal(key, record, Buffer.concat([header, encodeRecordAad(aad)]), iv)]);
}

export async function seal(hsm: KeyWrapper, ring: string, record: Uint8Array, aad: RecordAad, options: SealOptions = {}): Promise<Buffer> {
  const random = options.random ?? randomBytes;
  const dataKey = random(DATA_KEY);
  const key = contentKey(dataKey, options.bind);
  try {
    const header = sealedHeader(await hsm.wrap(ring, dataKey), options.bind !== undefined);
    return sealUnder(key, header, record, aad, random(IV));
  } finally {
    dataKey.fill(0);
    key.fill(0);
  }
}

function malformed(what: string): EbakError {
  return new EbakError('CORRUPT', `sealed record is malformed (${what}); it was truncated or is not an ebak sealed record`);
}

/** A sealed record's parts, checked against the reader's binding (`bound`): the wrapped key is authenticated later, by the HSM's unwrap. */
export interface SealedParts {
  /** Bytes [0, 7+w): the GCM AAD's prefix. */
  readonly header: Buffer;
  readonly wrapped: Buffer;
  /** iv ‖ ciphertext ‖ tag. */
  readonly body: Buffer;
}

/**
 * With `bound`, only format 2 opens: an unbound (v1) record could have been
 * made by anyone who can use the HSM, so it is refused.
 */
export function parseSealed(sealed: Uint8Array, aad: RecordAad, bound: boolean): SealedParts {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (b.length < 7 || !b.subarray(0, 4).equals(MAGIC)) throw malformed('bad magic');
  const format = b[4];
  if (format !== UNBOUND && format !== BOUND) throw new EbakError('UNSUPPORTED_VERSION', `sealed record format ${format} is unknown to this build; upgrade ebak`);
  if ((format === BOUND) !== bound) {
    throw new EbakError('AUTH_FAILED', `sealed record ${JSON.stringify(aad.id)} is format ${format}, but the reader ${bound ? 'requires records bound to its enclave key' : 'has no binding key'}`);
  }
  const end = 7 + b.readUInt16BE(5);
  if (b.length < end + IV + TAG) throw malformed('truncated');
  return { header: b.subarray(0, end), wrapped: b.subarray(7, end), body: b.subarray(end) };
}

/** The record of `parts` opened with its GCM key `key`: AUTH_FAILED when it was altered, or swapped for another record or version. */
export function openUnder(key: Buffer, parts: SealedParts, aad: RecordAad): Buffer {
  try {
    return open(key, parts.body, Buffer.concat([parts.header, encodeRecordAad(aad)]), `sealed record ${JSON.stringify(aad.id)} v${aad.version}`);
  } catch (e) {
    if (e instanceof EbakError && e.code === 'AUTH_FAILED') {
      throw new EbakError('AUTH_FAILED', `sealed record ${JSON.stringify(aad.id)} v${aad.version} failed authentication: altered, sealed by another vault, or another record or version replayed in its place`, { cause: e });
    }
    throw e;
  }
}

/** The GCM key of `parts`: its data key unwrapped by the HSM, bound to `bind`. */
export async function unwrapContentKey(hsm: KeyWrapper, parts: SealedParts, bind: Uint8Array | undefined): Promise<Buffer> {
  const dataKey = await hsm.unwrap(parts.wrapped);
  try {
    if (dataKey.length !== DATA_KEY) throw malformed('data key length');
    return contentKey(dataKey, bind);
  } finally {
    dataKey.fill(0);
  }
}

/**
 * Returns the record; the caller zeroes it when it holds secrets. With
 * `bind`, only format 2 under that key opens (parseSealed).
 */
export async function unseal(hsm: KeyWrapper, sealed: Uint8Array, aad: RecordAad, options: Pick<SealOptions, 'bind'> = {}): Promise<Buffer> {
  const parts = parseSealed(sealed, aad, options.bind !== undefined);
  const key = await unwrapContentKey(hsm, parts, options.bind);
  try {
    return openUnder(key, parts, aad);
  } finally {
    key.fill(0);
  }
}
