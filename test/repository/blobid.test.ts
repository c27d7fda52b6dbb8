import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hmacSha256 } from '../../src/crypto/index.js';
import { BlobIds } from '../../src/repository/blobid.js';
import { isAllZero } from '../../src/util/buffers.js';

const key = Buffer.alloc(32, 9);

test('blob ids of all-zero chunks are the HMAC of their bytes, remembered per length and handed out as copies', () => {
  const ids = new BlobIds(key);
  for (const len of [1, 4096, 65536, 65537, 3 << 20]) {
    const zeros = Buffer.alloc(len);
    const first = ids.id(zeros);
    assert.deepEqual(first, hmacSha256(key, zeros), `length ${len}`);
    first.fill(0xff); // a caller changing its copy must not change the next answer
    assert.deepEqual(ids.id(zeros), hmacSha256(key, zeros), `length ${len}, again`);
  }
  for (const at of [0, 1, 65535, 65536, (3 << 20) - 1]) {
    const b = Buffer.alloc(3 << 20);
    b[at] = 1;
    assert.equal(isAllZero(b), false, `a one at ${at}`);
    assert.deepEqual(ids.id(b), hmacSha256(key, b), `a one at ${at}`);
  }
  assert.equal(isAllZero(Buffer.alloc(0)), true);
  assert.deepEqual(ids.id(Buffer.alloc(0)), hmacSha256(key, Buffer.alloc(0)));
});
