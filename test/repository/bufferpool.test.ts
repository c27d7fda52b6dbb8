/**
 * The pool of large buffers (src/util/bufferpool.ts) that the seal
 * batches reuse: a buffer handed back is the
 * memory the next take of a size it fits gets, never one more than twice
 * the size asked for, and what is kept stays within its bounds (smaller
 * buffers dropped first).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BufferPool } from '../../src/util/bufferpool.js';

const KiB = 1024;
const MiB = 1024 * KiB;

test('a buffer handed back is what the next take that fits it gets; a new one otherwise', () => {
  const pool = new BufferPool(64 * KiB, 8, 32 * MiB);
  const a = pool.take(5 * MiB + 1);
  assert.equal(a.length, 6 * MiB, 'above 1 MiB: a multiple of it');
  assert.equal(pool.take(100).length, 64 * KiB, 'at least the smallest size');
  assert.equal(pool.take(300 * KiB).length, 512 * KiB, 'below 1 MiB: a power of two');
  pool.give(a);
  assert.equal(pool.take(4 * MiB).buffer, a.buffer, 'the same memory, for a smaller size it fits');
  pool.give(a);
  assert.notEqual(pool.take(2 * MiB).buffer, a.buffer, 'never more than twice what is asked for');
  assert.notEqual(pool.take(7 * MiB).buffer, a.buffer, 'nor too small');
  assert.equal(pool.take(6 * MiB).buffer, a.buffer);
});

test('the smallest kept buffer that fits is taken; one that is a view of part of its memory is not kept', () => {
  const pool = new BufferPool(64 * KiB, 8, 32 * MiB);
  const big = pool.take(8 * MiB);
  const small = pool.take(5 * MiB);
  pool.give(big);
  pool.give(small);
  assert.equal(pool.take(4 * MiB).buffer, small.buffer);
  assert.equal(pool.take(4 * MiB).buffer, big.buffer);
  pool.give(big.subarray(1));
  assert.notEqual(pool.take(8 * MiB).buffer, big.buffer);
});

test('what is kept stays within its bytes and count, smaller buffers giving way to larger ones', () => {
  const pool = new BufferPool(64 * KiB, 2, 10 * MiB);
  const [a, b, c] = [pool.take(2 * MiB), pool.take(4 * MiB), pool.take(6 * MiB)];
  pool.give(a);
  pool.give(b);
  pool.give(c); // 12 MiB would be kept: the 2 MiB one is dropped
  assert.equal(pool.take(4 * MiB).buffer, b.buffer);
  assert.equal(pool.take(6 * MiB).buffer, c.buffer);
  assert.notEqual(pool.take(2 * MiB).buffer, a.buffer);
  const d = pool.take(1 * MiB);
  pool.give(b);
  pool.give(c);
  pool.give(d); // two kept at most, and it is the smallest
  assert.notEqual(pool.take(1 * MiB).buffer, d.buffer);
});
