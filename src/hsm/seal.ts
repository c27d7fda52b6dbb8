/**
 * Envelope encryption for the vault's sealed state: a fresh 32-byte data key
 * per record, wrapped by the ring's current KEK in the HSM; AES-256-GCM over
 * the record in this process, with the record's id and version in the AAD so
 * a record cannot be swapped for another or for an older version of itself.
 *
 * Sealed record v1 (docs/hsm.md, "Sealed record"):
 *   0 4 magic "EBSR" | 4 1 version (1) | 5 2 w (u16 BE) | 7 w wrapped data key (key blob v1)
 *   | 12 iv | ciphertext ‖ tag(16)
 *   AAD = bytes [0, 7+w) ‖ u16 BE len(id) ‖ id (UTF-8) ‖ u64 BE record version
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EbakError } from '../errors.js';
import type { KeyWrapper } from './hsm.js';

export interface RecordAad {
  readonly id: string;
  readonly version: number | bigint;
}

const MAGIC = Buffer.from('EBSR', 'ascii');
const FORMAT = 1;
const DATA_KEY = 32;
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

/** `random` is injectable only so tests can reproduce the documented vector. */
export async function seal(hsm: KeyWrapper, ring: string, record: Uint8Array, aad: RecordAad, random: (n: number) => Buffer = randomBytes): Promise<Buffer> {
  const dataKey = random(DATA_KEY);
  try {
    const wrapped = await hsm.wrap(ring, dataKey);
    const head = Buffer.alloc(7);
    MAGIC.copy(head, 0);
    head[4] = FORMAT;
    head.writeUInt16BE(wrapped.length, 5);
    const header = Buffer.concat([head, wrapped]);
    const iv = random(IV);
    const c = createCipheriv('aes-256-gcm', dataKey, iv);
    c.setAAD(Buffer.concat([header, encodeRecordAad(aad)]));
    const ct = Buffer.concat([c.update(record), c.final()]);
    return Buffer.concat([header, iv, ct, c.getAuthTag()]);
  } finally {
    dataKey.fill(0);
  }
}

function malformed(what: string): EbakError {
  return new EbakError('CORRUPT', `sealed record is malformed (${what}); it was truncated or is not an ebak sealed record`);
}

/** Returns the record; the caller zeroes it when it holds secrets. */
export async function unseal(hsm: KeyWrapper, sealed: Uint8Array, aad: RecordAad): Promise<Buffer> {
  const b = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (b.length < 7 || !b.subarray(0, 4).equals(MAGIC)) throw malformed('bad magic');
  if (b[4] !== FORMAT) throw new EbakError('UNSUPPORTED_VERSION', `sealed record format ${b[4]} is unknown to this build; upgrade ebak`);
  const w = b.readUInt16BE(5);
  const end = 7 + w;
  if (b.length < end + IV + TAG) throw malformed('truncated');
  // The wrapped key is authenticated by the HSM's unwrap; the rest by GCM below.
  const dataKey = await hsm.unwrap(b.subarray(7, end));
  try {
    if (dataKey.length !== DATA_KEY) throw malformed('data key length');
    const d = createDecipheriv('aes-256-gcm', dataKey, b.subarray(end, end + IV));
    d.setAAD(Buffer.concat([b.subarray(0, end), encodeRecordAad(aad)]));
    d.setAuthTag(b.subarray(b.length - TAG));
    const record = d.update(b.subarray(end + IV, b.length - TAG));
    try {
      d.final();
      return record;
    } catch (e) {
      record.fill(0);
      throw new EbakError('AUTH_FAILED', `sealed record ${JSON.stringify(aad.id)} v${aad.version} failed authentication: altered, or another record or version replayed in its place`, { cause: e });
    }
  } finally {
    dataKey.fill(0);
  }
}
