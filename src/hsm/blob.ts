/**
 * Byte format of the blobs the HSM layer hands out (docs/hsm.md, "Key blob v1"):
 *
 *   0  2  magic "EH"
 *   2  1  format version (1)
 *   3  1  kind: 1 = AES key wrap (RFC 3394), 2 = AES-256-GCM, 3 = AWS KMS ciphertext
 *   4  1  n = ring name length (1..64)
 *   5  n  ring name (ASCII)
 *   5+n 4 key version (u32 big-endian)
 *   9+n .. body: kind 1: wrapped key; kind 2: iv(12) ‖ ciphertext ‖ tag(16); kind 3: KMS blob
 *
 * The header is not secret but is authenticated: key wrap binds the body to
 * the key named by (ring, version), and GCM takes the header as AAD.
 */
import { EbakError } from '../errors.js';
import { checkRingName } from './hsm.js';

export const BLOB_KIND = { wrap: 1, gcm: 2, kms: 3 } as const;
export type BlobKind = (typeof BLOB_KIND)[keyof typeof BLOB_KIND];

export interface BlobHeader {
  readonly kind: BlobKind;
  readonly ring: string;
  readonly version: number;
}

export interface ParsedBlob extends BlobHeader {
  /** The encoded header bytes (GCM's AAD prefix). */
  readonly header: Buffer;
  readonly body: Buffer;
}

const MAGIC = Buffer.from('EH', 'ascii');
const FORMAT = 1;

export function encodeHeader(h: BlobHeader): Buffer {
  const name = Buffer.from(checkRingName(h.ring), 'ascii');
  const out = Buffer.alloc(9 + name.length);
  MAGIC.copy(out, 0);
  out[2] = FORMAT;
  out[3] = h.kind;
  out[4] = name.length;
  name.copy(out, 5);
  out.writeUInt32BE(h.version, 5 + name.length);
  return out;
}

export function encodeBlob(h: BlobHeader, body: Uint8Array): Buffer {
  return Buffer.concat([encodeHeader(h), body]);
}

function corrupt(what: string): EbakError {
  return new EbakError('CORRUPT', `HSM key blob is malformed (${what}); it was truncated or is not an ebak key blob`);
}

/** Strict parse; the body is authenticated later, by the HSM, before any use. */
export function parseBlob(bytes: Uint8Array): ParsedBlob {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 10 || !b.subarray(0, 2).equals(MAGIC)) throw corrupt('bad magic');
  if (b[2] !== FORMAT) {
    throw new EbakError('UNSUPPORTED_VERSION', `HSM key blob format ${b[2]} is unknown to this build; upgrade ebak`);
  }
  const kind = b[3]!;
  if (kind !== 1 && kind !== 2 && kind !== 3) throw corrupt(`unknown kind ${kind}`);
  const n = b[4]!;
  if (n < 1 || n > 64 || b.length < 9 + n + 1) throw corrupt('bad ring name length');
  const ring = b.subarray(5, 5 + n).toString('ascii');
  try {
    checkRingName(ring);
  } catch {
    throw corrupt('bad ring name');
  }
  const version = b.readUInt32BE(5 + n);
  if (version < 1) throw corrupt('key version 0');
  return { kind, ring, version, header: b.subarray(0, 9 + n), body: b.subarray(9 + n) };
}
