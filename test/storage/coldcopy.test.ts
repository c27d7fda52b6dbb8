/**
 * The trust rule of a pack's copy into a colder class (src/storage/s3/coldcopy.ts),
 * over its CopyOps seam: what S3 answers decides. A pack already in that class
 * or a colder one is not copied; the copy is trusted when S3's SHA-256 of it is
 * the pack's name, or (no checksum given) its single-part ETag is unchanged, with
 * the same size and the asked class; anything else is CORRUPT. s3rver's own
 * answers are in test/s3/cold.test.ts; S3's checksum answer only here.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { moveColder, type ObjectHead } from '../../src/storage/s3/coldcopy.js';

const bytes = Buffer.from('a data pack');
const name = createHash('sha256').update(bytes).digest('hex');
const h = { type: 'data' as const, name };
const sum = createHash('sha256').update(bytes).digest('base64');

/** S3 as seen through CopyOps: the head before, the copy's checksum, the head after. */
function s3(before: ObjectHead, after: ObjectHead, checksumSHA256?: string) {
  const copies: { storageClass: string; etag: string | undefined }[] = [];
  let heads = 0;
  return {
    copies,
    ops: {
      head: async () => (heads++ === 0 ? before : after),
      copyInPlace: async (_h: unknown, storageClass: string, etag: string | undefined) => {
        copies.push({ storageClass, etag });
        return { checksumSHA256 };
      },
    },
  };
}

const hot: ObjectHead = { size: 11, etag: '"abc"', storageClass: 'STANDARD' };
const cold = (o: Partial<ObjectHead> = {}): ObjectHead => ({ size: 11, etag: '"abc"', storageClass: 'GLACIER_IR', ...o });
const corrupt = (e: unknown) => isEbakError(e, 'CORRUPT');

it('already in that class or a colder one: not copied', async () => {
  for (const storageClass of ['GLACIER_IR', 'DEEP_ARCHIVE']) {
    const s = s3({ ...hot, storageClass }, hot);
    assert.equal(await moveColder(s.ops, h, 'GLACIER_IR'), 'unchanged');
    assert.deepEqual(s.copies, []);
  }
});

it('trusted by S3\'s SHA-256 equal to the name, or by an unchanged single-part ETag; copied only if the ETag is still the one read', async () => {
  const bySum = s3(hot, cold({ etag: '"other"' }), sum);
  assert.equal(await moveColder(bySum.ops, h, 'GLACIER_IR'), 'moved');
  assert.deepEqual(bySum.copies, [{ storageClass: 'GLACIER_IR', etag: '"abc"' }]);
  assert.equal(await moveColder(s3(hot, cold()).ops, h, 'GLACIER_IR'), 'moved');
});

it('anything else is CORRUPT: another checksum, size or class, a changed ETag, a multipart ETag without a checksum', async () => {
  await assert.rejects(moveColder(s3(hot, cold(), Buffer.alloc(32).toString('base64')).ops, h, 'GLACIER_IR'), corrupt);
  await assert.rejects(moveColder(s3(hot, cold({ size: 10 }), sum).ops, h, 'GLACIER_IR'), corrupt);
  await assert.rejects(moveColder(s3(hot, cold({ storageClass: 'STANDARD' }), sum).ops, h, 'GLACIER_IR'), corrupt);
  await assert.rejects(moveColder(s3(hot, cold({ etag: '"other"' })).ops, h, 'GLACIER_IR'), corrupt);
  await assert.rejects(moveColder(s3({ ...hot, etag: '"abc-2"' }, cold({ etag: '"abc-2"' })).ops, h, 'GLACIER_IR'), corrupt);
});
