/**
 * Opening blobs as the restore's run writes do (openBlob's `transient`):
 * a blob is decrypted where it lies in the run's range (the sealed bytes
 * are overwritten), a compressed one then decompressed into the worker's
 * reused buffer (compress/index.ts decompressTransient), each next
 * transient open reusing the same memory (the contract the sink relies
 * on: done with one before the next); and a blob that was altered, or
 * whose content is not its id, is still refused before any byte of it is
 * handed out, with no plaintext left where it lay.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { compressIfSmaller } from '../../src/compress/index.js';
import { hmacSha256 } from '../../src/crypto/index.js';
import { isEbakError } from '../../src/errors.js';
import { openBlob, sealBlob } from '../../src/repository/blob.js';
import { BlobType, FLAG_ZSTD } from '../../src/repository/format/pack.js';

const packKey = randomBytes(32);
const blobKey = randomBytes(32);

/** A compressible plaintext sealed as a data blob, with its ref. */
function sealed(size: number): { plain: Buffer; ref: { type: number; flags: number; rawLength: number; id: Buffer }; bytes: Buffer } {
  const plain = Buffer.alloc(size, randomBytes(100).toString('hex'));
  const id = hmacSha256(blobKey, plain);
  const packed = Buffer.from(compressIfSmaller(plain, 3)!);
  return { plain, ref: { type: BlobType.data, flags: FLAG_ZSTD, rawLength: size, id }, bytes: sealBlob(packKey, BlobType.data, id, size, packed, true) };
}

test('transient opens give each blob its plaintext: compressed ones in one buffer the next open reuses, stored ones where they lay', () => {
  const a = sealed(300_000);
  const b = sealed(200_000);
  const kept = Buffer.from(a.bytes);
  assert.notEqual(openBlob(packKey, blobKey, a.ref, kept, 'blob a').buffer, kept.buffer, 'an open that is not transient has its own');
  assert.deepEqual(kept, a.bytes, 'and leaves the sealed bytes as they were');
  const first = openBlob(packKey, blobKey, a.ref, a.bytes, 'blob a', true);
  assert.deepEqual(first, a.plain);
  const second = openBlob(packKey, blobKey, b.ref, b.bytes, 'blob b', true);
  assert.deepEqual(second, b.plain);
  assert.equal(second.buffer, first.buffer, 'the same memory, reused');
  const plain = randomBytes(150_000); // incompressible: stored as it is, decrypted where it lies in the range
  const ref = { type: BlobType.data, flags: 0, rawLength: plain.length, id: hmacSha256(blobKey, plain) };
  const range = Buffer.concat([Buffer.from('before'), sealBlob(packKey, BlobType.data, ref.id, plain.length, plain, false), Buffer.from('after')]);
  const stored = range.subarray(6, range.length - 5);
  const third = openBlob(packKey, blobKey, ref, stored, 'blob c', true);
  assert.deepEqual(third, plain);
  assert.equal(third.buffer, range.buffer, 'a view of the range it lay in');
  assert.equal(third.byteOffset, stored.byteOffset + 12, 'over its ciphertext, after the nonce');
  assert.equal(range.subarray(0, 6).toString(), 'before');
  assert.equal(range.subarray(range.length - 5).toString(), 'after', 'nothing around it touched');
});

test('a transient open still refuses an altered blob and one whose content is not its id', () => {
  const a = sealed(100_000);
  const altered = Buffer.from(a.bytes);
  altered[40]! ^= 1;
  assert.throws(() => openBlob(packKey, blobKey, a.ref, altered, 'blob a', true), (e) => isEbakError(e, 'AUTH_FAILED'));
  assert.ok(altered.subarray(12, altered.length - 16).every((x) => x === 0), 'what was decrypted in place is wiped');
  const other = { ...a.ref, id: randomBytes(32) };
  const resealed = sealBlob(packKey, BlobType.data, other.id, a.ref.rawLength, Buffer.from(compressIfSmaller(a.plain, 3)!), true);
  assert.throws(() => openBlob(packKey, blobKey, other, resealed, 'blob a', true), (e) => isEbakError(e, 'AUTH_FAILED') && /does not match its id/.test((e as Error).message));
});
