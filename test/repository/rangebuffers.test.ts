/**
 * The restore's range buffers (src/repository/rangebuffers.ts): one buffer
 * of the largest run's size a slot, whatever size a read asks for, so the
 * memory handed back is what the next read gets, and no more reads than
 * slots hold buffers at once.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RangeBuffers } from '../../src/repository/rangebuffers.js';

const MiB = 1024 * 1024;

test('every read, small or large, gets a buffer of the slot size; the one handed back is the next read\'s', async () => {
  const ranges = new RangeBuffers(2, 8 * MiB);
  const first = await ranges.with(64 * 1024, async (into) => ({ value: into, back: into }));
  assert.equal(first.length, 8 * MiB);
  const second = await ranges.with(7 * MiB, async (into) => ({ value: into, back: into }));
  assert.equal(second.buffer, first.buffer, 'the same memory for a read of another size');
  const third = await ranges.with(MiB, async (into) => ({ value: into }));
  assert.equal(third.buffer, first.buffer);
  const fourth = await ranges.with(MiB, async (into) => ({ value: into }));
  assert.notEqual(fourth.buffer, first.buffer, 'nothing handed back: a new buffer');
});

test('memory handed back from elsewhere (a worker) is kept only when it is whole and of the slot size', async () => {
  const ranges = new RangeBuffers(1, 8 * MiB);
  const whole = Buffer.allocUnsafeSlow(8 * MiB);
  await ranges.with(MiB, async () => ({ value: 0, back: new Uint8Array(whole.buffer) }));
  const got = await ranges.with(MiB, async (into) => ({ value: into.buffer, back: whole.subarray(1) }));
  assert.equal(got, whole.buffer, 'a whole buffer handed back is kept');
  const after = await ranges.with(MiB, async (into) => ({ value: into.buffer, back: Buffer.allocUnsafeSlow(MiB) }));
  assert.notEqual(after, whole.buffer, 'a view of part of it is not kept');
  const small = await ranges.with(MiB, async (into) => ({ value: into }));
  assert.equal(small.length, 8 * MiB, 'nor a buffer smaller than the slot size');
});

test('a read larger than the slot size gets a buffer of its own size', async () => {
  const ranges = new RangeBuffers(1, MiB);
  assert.equal(await ranges.with(3 * MiB, async (into) => ({ value: into.length })), 3 * MiB);
});

test('no more reads at once than slots; a waiting read gets the buffer the one before handed back', async () => {
  const ranges = new RangeBuffers(2, MiB);
  let active = 0;
  let most = 0;
  const seen = new Set<ArrayBufferLike>();
  await Promise.all(Array.from({ length: 6 }, () => ranges.with(1000, async (into) => {
    most = Math.max(most, ++active);
    seen.add(into.buffer);
    await new Promise((r) => setImmediate(r));
    active--;
    return { value: undefined, back: into };
  })));
  assert.equal(most, 2);
  assert.equal(seen.size, 2, 'two buffers for six reads');
});
