/**
 * readBody (src/storage/s3/body.ts): a GetObject body read into one Buffer
 * that owns its memory (so the blob reader hands it to a worker without a
 * copy), refused when the server sends more than it announced or the
 * connection closes before the body's end.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { isRetryable } from '../../src/storage/retry.js';
import { readBody } from '../../src/storage/s3/body.js';

const chunked = (data: Buffer, size: number) => Readable.from(Array.from({ length: Math.ceil(data.length / size) }, (_, i) => data.subarray(i * size, (i + 1) * size)));

describe('readBody', () => {
  it('gathers the chunks of a body of known length into one Buffer of its own memory', async () => {
    const data = randomBytes(200_000);
    const got = await readBody(chunked(data, 16_384), data.length, 'read data/x');
    assert.deepEqual(got, data);
    assert.equal(got.byteOffset, 0);
    assert.equal(got.buffer.byteLength, data.length, 'not a slice of a pool or of a larger allocation');
  });

  it('gathers a body of unknown length', async () => {
    const data = randomBytes(50_000);
    assert.deepEqual(await readBody(chunked(data, 7_000), undefined, 'read data/x'), data);
  });

  it('returns a shorter body as it came (the caller compares the length)', async () => {
    const data = randomBytes(10_000);
    assert.equal((await readBody(chunked(data, 4_096), 12_000, 'read data/x')).length, 10_000);
  });

  it('refuses a body whose connection closes before its end, as a retryable STORAGE error', async () => {
    const body = new Readable({ read() {} });
    body.push(randomBytes(4_096));
    setImmediate(() => body.destroy());
    const e = await readBody(body, 10_000, 'read data/x').catch((x: unknown) => x);
    assert.ok(isEbakError(e, 'STORAGE'), String(e));
    assert.ok(isRetryable(e));
    assert.match((e as Error).message, /read data\/x: the connection closed before the body ended/);
  });

  it('refuses a body longer than announced, as a retryable STORAGE error', async () => {
    const e = await readBody(chunked(randomBytes(10_000), 4_096), 9_000, 'read data/x').catch((x: unknown) => x);
    assert.ok(isEbakError(e, 'STORAGE'), String(e));
    assert.ok(isRetryable(e));
    assert.match((e as Error).message, /read data\/x: got more than the 9000 bytes announced/);
  });
});
