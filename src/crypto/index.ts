/**
 * Cryptographic building blocks, all from node:crypto: HKDF-SHA-256 subkeys,
 * AES-256-GCM sealing, HMAC-SHA-256 blob ids, SHA-256 object ids. Nothing
 * here invents a primitive; the formats that use them are in docs/format.md.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { EbakError } from '../errors.js';

export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** HKDF-SHA-256 (RFC 5869) with an "ebak/v1/" label, so no two uses share a key. */
export function deriveKey(ikm: Uint8Array, label: string, salt: Uint8Array = Buffer.alloc(0)): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, `ebak/v1/${label}`, KEY_BYTES));
}

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

export function random(n: number): Buffer {
  return randomBytes(n);
}

/** Plaintext is encrypted this much at a time, straight into the output. */
const SEAL_CHUNK = 1 << 20;

/**
 * AES-256-GCM: returns `prefix` ‖ nonce ‖ ciphertext ‖ tag, all in one
 * buffer (an object's header goes in front without a further copy: prune's
 * index file of a million blobs is 46 MiB, and the ciphertext and two
 * concatenations once held three copies of it). The one AES-GCM in the
 * program (repository objects, key envelopes, sealed vault records);
 * `nonce` is passed only by the documented test vectors.
 */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES), prefix: Uint8Array = new Uint8Array(0)): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + NONCE_BYTES + plaintext.length + TAG_BYTES);
  out.set(prefix, 0);
  sealInto(key, plaintext, aad, out, prefix.length, nonce);
  return out;
}

/**
 * AES-256-GCM into `out` at `at`: nonce ‖ ciphertext ‖ tag, NONCE_BYTES +
 * plaintext.length + TAG_BYTES bytes; returns that length. `plaintext` may
 * be out[at + NONCE_BYTES, ...) itself (sealed where it lies: each piece is
 * encrypted before its ciphertext is copied back over it), so a large blob
 * needs no second buffer (repository/blobbuffers.ts).
 */
export function sealInto(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array, out: Uint8Array, at: number, nonce: Uint8Array = randomBytes(NONCE_BYTES)): number {
  if (nonce.length !== NONCE_BYTES) throw new EbakError('USAGE', `an AES-GCM nonce is ${NONCE_BYTES} bytes`);
  const length = NONCE_BYTES + plaintext.length + TAG_BYTES;
  if (at < 0 || at + length > out.length) throw new EbakError('USAGE', `AES-GCM output needs ${length} bytes at ${at} of a ${out.length}-byte buffer`);
  const c = createCipheriv('aes-256-gcm', key, nonce);
  c.setAAD(aad);
  out.set(nonce, at);
  let end = at + NONCE_BYTES;
  for (let i = 0; i < plaintext.length; i += SEAL_CHUNK) {
    const piece = c.update(plaintext.subarray(i, i + SEAL_CHUNK));
    out.set(piece, end);
    end += piece.length;
  }
  const last = c.final();
  out.set(last, end);
  end += last.length;
  // GCM is a stream mode: the ciphertext is exactly as long as the plaintext.
  if (end !== at + length - TAG_BYTES) throw new Error(`AES-GCM gave ${end - at - NONCE_BYTES} bytes of ciphertext for ${plaintext.length}`);
  out.set(c.getAuthTag(), end);
  return length;
}

/**
 * Opens nonce ‖ ciphertext ‖ tag. Throws EbakError('AUTH_FAILED') naming
 * `what` when the tag does not verify: the bytes were altered or the key is wrong.
 */
export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array, what: string): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw authFailed(what);
  const nonce = sealed.subarray(0, NONCE_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAAD(aad);
  d.setAuthTag(tag);
  const body = d.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES));
  try {
    // GCM's final() checks the tag and returns no bytes: the body as it is, not a copy of it.
    const rest = d.final();
    return rest.length === 0 ? body : Buffer.concat([body, rest]);
  } catch {
    body.fill(0);
    throw authFailed(what);
  }
}

/** Ciphertext is decrypted this much at a time by openInto: each piece's output comes from the malloc heap, not a mapping of its own. */
const OPEN_CHUNK = 64 * 1024;

/**
 * open, into `out` (at least the plaintext's length; a view of it is returned), for a caller that
 * reuses one buffer for every blob it opens. node:crypto answers each update with a new buffer, and
 * one of a large blob's size is a fresh mapping (bin/ebak sets MALLOC_MMAP_THRESHOLD_) whose every
 * 4 KiB page faults once: restoring 1 GiB cost ~0.9 s of system time in the blob workers
 * (docs/benchmarks.md, rperf5). Pieces of OPEN_CHUNK are malloc'd and reused; copying them costs less.
 * `out` may be the ciphertext's own bytes (`sealed` after its nonce): each piece is decrypted before
 * its plaintext is copied over it, so a blob can be opened where it lies.
 */
export function openInto(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array, what: string, out: Buffer): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw authFailed(what);
  const length = sealed.length - NONCE_BYTES - TAG_BYTES;
  if (out.length < length) throw new EbakError('USAGE', `AES-GCM output needs ${length} bytes, the buffer holds ${out.length}`);
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, NONCE_BYTES));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(NONCE_BYTES + length));
  let end = 0;
  for (let i = 0; i < length; i += OPEN_CHUNK) end += d.update(sealed.subarray(NONCE_BYTES + i, NONCE_BYTES + Math.min(length, i + OPEN_CHUNK))).copy(out, end);
  try {
    end += d.final().copy(out, end);
  } catch {
    out.fill(0, 0, end);
    throw authFailed(what);
  }
  return out.subarray(0, end);
}

export function authFailed(what: string): EbakError {
  return new EbakError('AUTH_FAILED', `${what}: authentication failed (the object was altered or corrupted)`, {
    hint: 'run `ebak check` to list every damaged object',
  });
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
