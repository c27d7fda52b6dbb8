/**
 * The zero-run skip in Cdc.scan (sparse files, disk images) must not move a
 * single cut: every cut is compared with a plain byte-by-byte FastCDC written
 * from docs/chunker.md, on data with zero runs of every length around the
 * skip's 4 KiB block, and with gear tables whose zero fixed point does and
 * does not pass the masks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Cdc, chunkBuffer, gearTable, type ChunkerParams } from '../../src/chunker/index.js';
import { keystream } from './vector-input.js';

// A small-chunk phase (avg - min) longer than the skip's 4 KiB block, so both phases skip.
const P: ChunkerParams = { min: 1024, avg: 16384, max: 131072 };

function referenceCuts(g: Uint32Array, p: ChunkerParams, data: Uint8Array): number[] {
  const bits = Math.log2(p.avg);
  const maskS = (~0 << (32 - (bits + 2))) | 0;
  const maskL = (~0 << (32 - (bits - 2))) | 0;
  const out: number[] = [];
  for (let start = 0; start < data.length; ) {
    const n = data.length - start;
    let len = n;
    if (n > p.min) {
      const limit = start + Math.min(n, p.max);
      const normal = Math.min(start + p.avg, limit);
      let fp = 0;
      len = n >= p.max ? p.max : n;
      for (let i = start + p.min; i < limit; i++) {
        fp = ((fp << 1) + g[data[i]!]!) | 0;
        if ((fp & (i < normal ? maskS : maskL)) === 0) {
          len = i + 1 - start;
          break;
        }
      }
    }
    out.push(len);
    start += len;
  }
  return out;
}

/** Random bytes with zero runs of the given lengths spliced in at random places. */
function withZeroRuns(size: number, runs: number[], seed: number): Buffer {
  const data = Buffer.from(keystream(size, seed));
  let at = 7;
  for (const r of runs) {
    const start = (at * 2654435761) % Math.max(1, size - r);
    data.fill(0, start, start + r);
    at += r + 13;
  }
  return data;
}

function withG0(g0: number): Uint32Array {
  return Uint32Array.from(gearTable(Buffer.alloc(32, 6)), (v, i) => (i === 0 ? g0 : v));
}

const RUNS = [1, 31, 32, 33, 4095, 4096, 4097, 8191, 12288, 20000, 70000, 200000];

for (const [name, table] of [
  ['a random gear table', gearTable(Buffer.alloc(32, 5))],
  ['a table whose zero fixed point passes both masks (G[0] = 0)', withG0(0)],
  // Fixed point 0x00010000: bit 16 is in the small-chunk mask (top 16 bits) but not the large one (top 12).
  ['a table whose zero fixed point passes only the large-chunk mask', withG0(-0x00010000 >>> 0)],
] as const) {
  test(`zero runs: the same cuts as a byte-by-byte FastCDC, with ${name}`, () => {
    const cdc = new Cdc(table, P);
    for (const seed of [1, 2, 3]) {
      const data = withZeroRuns(1 << 20, RUNS, seed);
      assert.deepEqual(chunkBuffer(data, cdc).map((c) => c.length), referenceCuts(table, P, data), `seed ${seed}`);
    }
    const zeros = Buffer.alloc(1 << 20);
    assert.deepEqual(chunkBuffer(zeros, cdc).map((c) => c.length), referenceCuts(table, P, zeros));
  });
}
