import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { Cdc, chunkBuffer, DEFAULT_PARAMS, gearTable, validateParams, type ChunkerParams } from '../../src/chunker/index.js';
import { keystream } from './vector-input.js';

const SMALL: ChunkerParams = { min: 1024, avg: 4096, max: 16384 };
const seed = (b: number): Buffer => Buffer.alloc(32, b);
const cdc = new Cdc(gearTable(seed(1)), SMALL);
const cuts = (data: Uint8Array, c: Cdc): number[] => chunkBuffer(data, c).map((x) => x.length);
const usage = (e: unknown): boolean => isEbakError(e, 'USAGE');

/** Absolute end offsets of the chunks. */
function offsets(lengths: number[]): number[] {
  let at = 0;
  return lengths.map((l) => (at += l));
}

test('concatenated chunks equal the input; sizes stay within [min, max]', () => {
  const data = keystream(3 << 20, 7);
  const chunks = chunkBuffer(data, cdc);
  assert.ok(Buffer.concat(chunks).equals(data));
  chunks.slice(0, -1).forEach((c) => assert.ok(c.length >= SMALL.min && c.length <= SMALL.max, `chunk of ${c.length}`));
  const mean = data.length / chunks.length;
  assert.ok(mean > SMALL.avg * 0.9 && mean < SMALL.avg * 1.5, `mean ${mean}`);
});

test('nextCut answers the same cut whatever data follows, and -1 only when it must', () => {
  const data = keystream(1 << 20, 3);
  for (let start = 0; start < data.length - SMALL.max; ) {
    const cut = cdc.nextCut(data, start, data.length, true);
    assert.equal(cdc.nextCut(data, start, start + cut, false), cut);
    assert.equal(cdc.nextCut(data, start, start + SMALL.max, false), cut);
    assert.equal(cdc.nextCut(data, start, start + cut - 1, false), -1);
    assert.equal(cdc.nextCut(data, start, start + cut - 1, true), cut - 1);
    start += cut;
  }
});

test('resumeAt skips re-checking without changing the answer', () => {
  const data = keystream(256 << 10, 11);
  for (let start = 0; start < data.length - SMALL.max; ) {
    const cut = cdc.nextCut(data, start, data.length, true);
    for (const step of [1, 100, 1500, 5000]) {
      let end = start;
      let answer = -1;
      while (answer === -1) {
        const resumeAt = end;
        end = Math.min(end + step, data.length);
        answer = cdc.nextCut(data, start, end, false, resumeAt);
      }
      assert.equal(answer, cut, `start ${start}, step ${step}`);
    }
    start += cut;
  }
  assert.throws(() => cdc.nextCut(data, 100, 200, true, 99), usage);
  assert.throws(() => cdc.nextCut(data, 100, 200, true, 201), usage);
});

test('nextCut edge cases: empty, short final, max-size cut on data with no boundary', () => {
  const zeros = new Uint8Array(3 * SMALL.max);
  assert.equal(cdc.nextCut(zeros, 5, 5, true), 0);
  assert.equal(cdc.nextCut(zeros, 5, 5, false), -1);
  assert.equal(cdc.nextCut(zeros, 0, SMALL.min, false), -1);
  assert.equal(cdc.nextCut(zeros, 0, SMALL.min, true), SMALL.min);
  assert.equal(cdc.nextCut(zeros, 0, SMALL.max, false), SMALL.max);
  assert.equal(cdc.nextCut(zeros, 1, zeros.length, false), SMALL.max);
  assert.throws(() => cdc.nextCut(zeros, 0, zeros.length + 1, true), usage);
  assert.throws(() => cdc.nextCut(zeros, 10, 9, true), usage);
});

test('different seeds give different boundaries', () => {
  const data = keystream(2 << 20, 9);
  const a = new Set(offsets(cuts(data, new Cdc(gearTable(seed(1)), SMALL))).slice(0, -1));
  const b = offsets(cuts(data, new Cdc(gearTable(seed(2)), SMALL))).slice(0, -1);
  const shared = b.filter((o) => a.has(o)).length;
  assert.ok(a.size > 100 && b.length > 100);
  assert.ok(shared < b.length / 10, `${shared} of ${b.length} boundaries shared`);
});

test('boundaries resynchronise after an insertion near the start', () => {
  const data = keystream(1 << 20, 4);
  const edited = Buffer.concat([data.subarray(0, 5000), keystream(100, 5), data.subarray(5000)]);
  const before = chunkBuffer(data, cdc);
  const after = chunkBuffer(edited, cdc);
  const afterSet = new Set(after.map((c) => c.toString('base64')));
  const lost = before.filter((c) => !afterSet.has(c.toString('base64'))).length;
  assert.ok(before.length > 100);
  assert.ok(lost >= 1 && lost <= 3, `${lost} of ${before.length} chunks changed`);
});

test('default parameters are 512 KiB / 1 MiB / 8 MiB and valid', () => {
  assert.deepEqual({ ...DEFAULT_PARAMS }, { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 });
  assert.deepEqual(validateParams(DEFAULT_PARAMS), DEFAULT_PARAMS);
  assert.deepEqual(validateParams({ min: 1, avg: 256, max: 256 }), { min: 1, avg: 256, max: 256 });
});

test('bad parameters are rejected with USAGE', () => {
  const bad: unknown[] = [
    null,
    { min: 0, avg: 4096, max: 16384 },
    { min: 1.5, avg: 4096, max: 16384 },
    { min: '1024', avg: 4096, max: 16384 },
    { min: 1024, avg: NaN, max: 16384 },
    { min: 1024, avg: 4097, max: 16384 },
    { min: 64, avg: 128, max: 16384 },
    { min: 1024, avg: 2 ** 29, max: 2 ** 30 },
    { min: 8192, avg: 4096, max: 16384 },
    { min: 1024, avg: 4096, max: 2048 },
    { min: 1024, avg: 4096, max: 2 ** 30 + 1 },
    { min: 1024, avg: 4096 },
  ];
  for (const p of bad) assert.throws(() => validateParams(p as ChunkerParams), usage, JSON.stringify(p));
  assert.throws(() => new Cdc(gearTable(seed(1)), bad[5] as ChunkerParams), usage);
});

test('bad seeds and tables are rejected with USAGE', () => {
  assert.throws(() => gearTable(new Uint8Array(31)), usage);
  assert.throws(() => gearTable(new Uint8Array(33)), usage);
  assert.throws(() => gearTable('x'.repeat(32) as unknown as Uint8Array), usage);
  assert.throws(() => new Cdc(new Uint32Array(255)), usage);
  assert.throws(() => new Cdc(Array.from(gearTable(seed(1))) as unknown as Uint32Array), usage);
});
