/**
 * Chunk buffers (src/repository/blobbuffers.ts): a large chunk read into
 * one is sealed by a worker where it lies and comes back as the same
 * memory, which the next chunk of a like size reuses; the sealed blob opens
 * to the chunk. Buffers not from the pool are never taken in, and a buffer
 * given back twice is handed out once.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { openBlob } from '../../src/repository/blob.js';
import { BLOB_HEAD, BLOB_TAIL, giveBlobBuffer, isBlobBuffer, takeBlobBuffer } from '../../src/repository/blobbuffers.js';
import { hmacSha256 } from '../../src/crypto/index.js';
import { WorkerPool } from '../../src/repository/workers.js';

/** A pool buffer holding `data`. */
function chunkOf(data: Buffer): Buffer {
  const b = takeBlobBuffer(data.length);
  data.copy(b);
  return b;
}

describe('chunk buffers', () => {
  it('hands out a view with room for the nonce before and the tag after', () => {
    const b = takeBlobBuffer(700_000);
    assert.equal(b.length, 700_000);
    assert.equal(b.byteOffset, BLOB_HEAD);
    assert.ok(b.buffer.byteLength >= BLOB_HEAD + 700_000 + BLOB_TAIL && b.buffer.byteLength <= 1.25 * (700_000 + BLOB_HEAD + BLOB_TAIL));
    assert.ok(isBlobBuffer(b));
    assert.ok(!isBlobBuffer(Buffer.allocUnsafeSlow(700_000)));
    giveBlobBuffer(b);
  });

  it('a chunk is sealed in place by a worker, opens to its bytes, and its memory serves the next chunk', async () => {
    const pool = new WorkerPool(1);
    const [packKey, blobKey] = [randomBytes(32), randomBytes(32)];
    try {
      for (const level of [0, 3]) {
        const plain = level === 0 ? randomBytes(1_100_000) : Buffer.alloc(1_100_000, 'compressible ');
        const id = hmacSha256(blobKey, plain);
        const chunk = chunkOf(plain);
        const { data, compressed, inPlace } = await pool.seal(packKey, 0, id, chunk, level);
        assert.equal(inPlace, true);
        assert.equal(compressed, level !== 0);
        assert.equal(chunk.length, 0, 'the chunk was transferred');
        assert.equal(data.byteOffset, 0);
        const ref = { type: 0, flags: compressed ? 1 : 0, rawLength: plain.length, id };
        assert.deepEqual(openBlob(packKey, blobKey, ref, data, 'blob'), plain);
        const memory = data.buffer;
        giveBlobBuffer(data);
        giveBlobBuffer(data); // twice: kept once
        const next = takeBlobBuffer(1_050_000);
        assert.equal(next.buffer, memory, 'the next chunk of a like size reuses it');
        assert.notEqual(takeBlobBuffer(1_050_000).buffer, memory, 'handed out once');
      }
    } finally {
      await pool.close();
    }
  });

  it('takes in no buffer it did not make', () => {
    const foreign = Buffer.allocUnsafeSlow(1 << 20);
    giveBlobBuffer(foreign);
    for (let i = 0; i < 4; i++) assert.notEqual(takeBlobBuffer((1 << 20) - BLOB_HEAD - BLOB_TAIL).buffer, foreign.buffer);
  });
});
