import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Cdc, chunkBuffer, gearTable } from '../../src/chunker/index.js';
import { makeInput, VECTORS_URL, type VectorFile } from './vector-input.js';

const vectors = JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as VectorFile;
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('vector file has the expected version and count', () => {
  assert.equal(vectors.version, 1);
  assert.equal(vectors.gear.length, 2);
  assert.equal(vectors.chunks.length, 5);
});

for (const v of vectors.gear) {
  test(`gear table for seed ${v.seed.slice(0, 8)}…`, () => {
    const t = gearTable(Buffer.from(v.seed, 'hex'));
    assert.equal(sha256(new Uint8Array(t.buffer)), v.sha256);
    for (const [i, hex] of Object.entries(v.entries)) assert.equal(t[Number(i)]!.toString(16).padStart(8, '0'), hex);
  });
}

for (const v of vectors.chunks) {
  test(`chunk vector: ${v.name}`, () => {
    const chunks = chunkBuffer(makeInput(v.input), new Cdc(gearTable(Buffer.from(v.seed, 'hex')), v.params));
    assert.deepEqual(chunks.map((c) => c.length), v.lengths);
    assert.deepEqual(chunks.map(sha256), v.sha256);
  });
}
