/**
 * The simulated key service's CiphertextBlob, format version 1 (docs/kms.md,
 * "Ciphertext blob"): AES-256-GCM under the key's material, with the key id
 * in the clear (Decrypt needs no KeyId, as in KMS) and authenticated together
 * with the encryption context, so a blob opens only under its own key and
 * with exactly the context it was made with.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { EbakError } from '../../errors.js';

const MAGIC = Buffer.from('EKMS', 'ascii');
export const BLOB_VERSION = 1;
const NONCE = 12;
const TAG = 16;

export interface BlobParts {
  keyId: string;
  nonce: Buffer;
  sealed: Buffer; // ciphertext || tag
  header: Buffer;
}

export function sealBlob(material: Buffer, keyId: string, plaintext: Uint8Array, context: Readonly<Record<string, string>>, nonce: Buffer = randomBytes(NONCE)): Buffer {
  const head = header(keyId);
  const cipher = createCipheriv('aes-256-gcm', material, nonce);
  cipher.setAAD(Buffer.concat([head, encodeContext(context)]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([head, nonce, body]);
}

/** Splits a blob without the key (to find which key opens it); InvalidCiphertext as CORRUPT. */
export function parseBlob(blob: Uint8Array): BlobParts {
  const b = Buffer.from(blob);
  const bad = (why: string) => new EbakError('CORRUPT', `not a ciphertext blob of this key service: ${why}`);
  if (b.length < MAGIC.length + 2 || !b.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('bad magic');
  if (b[4] !== BLOB_VERSION) throw bad(`format version ${b[4]}`);
  const idLength = b[5]!;
  const headLength = 6 + idLength;
  if (idLength === 0 || b.length < headLength + NONCE + TAG) throw bad('truncated');
  return { keyId: b.subarray(6, headLength).toString('ascii'), header: b.subarray(0, headLength), nonce: b.subarray(headLength, headLength + NONCE), sealed: b.subarray(headLength + NONCE) };
}

export function openBlob(material: Buffer, parts: BlobParts, context: Readonly<Record<string, string>>): Buffer {
  try {
    const decipher = createDecipheriv('aes-256-gcm', material, parts.nonce);
    decipher.setAAD(Buffer.concat([parts.header, encodeContext(context)]));
    decipher.setAuthTag(parts.sealed.subarray(parts.sealed.length - TAG));
    return Buffer.concat([decipher.update(parts.sealed.subarray(0, parts.sealed.length - TAG)), decipher.final()]);
  } catch (e) {
    throw new EbakError('AUTH_FAILED', 'the ciphertext blob or its encryption context was altered', { cause: e });
  }
}

function header(keyId: string): Buffer {
  const id = Buffer.from(keyId, 'ascii');
  if (id.length === 0 || id.length > 255) throw new EbakError('USAGE', 'a key id is 1..255 ASCII bytes');
  return Buffer.concat([MAGIC, Uint8Array.of(BLOB_VERSION, id.length), id]);
}

/** u32 count, then each pair sorted by the key's UTF-8 bytes: u32 length, key, u32 length, value. */
export function encodeContext(context: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(context).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  pairs.sort((a, b) => Buffer.compare(a[0], b[0]));
  return Buffer.concat([u32(pairs.length), ...pairs.flatMap(([k, v]) => [u32(k.length), k, u32(v.length), v])]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
