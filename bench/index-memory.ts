/**
 * Index memory (docs/format.md, "Memory cost of the in-memory index"): builds
 * a MasterIndex of N blobs (default 1,000,000; BENCH_INDEX_BLOBS) in packs of
 * BENCH_INDEX_PER_PACK blobs (default 16, ebak's data packs) and prints the
 * structure's own byteLength per blob beside what the process's RSS grew by
 * per blob (after a GC; run with --expose-gc for that), split into typed-array
 * backing stores and the V8 heap, and the CPU it took.
 * Run: `npx tsc -p . && node --expose-gc dist/bench/index-memory.js`.
 */
import { createHash } from 'node:crypto';
import { MasterIndex } from '../src/repository/masterindex.js';

const blobs = Number(process.env.BENCH_INDEX_BLOBS ?? 1_000_000);
const perPack = Number(process.env.BENCH_INDEX_PER_PACK ?? 16);
const gc = (globalThis as { gc?: () => void }).gc;

/** Uniform ids, as HMAC blob ids and SHA-256 pack ids are. */
function id(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n >>> 0);
  b.writeUInt32LE(Math.floor(n / 2 ** 32), 4);
  return createHash('sha256').update(b).digest();
}

gc?.();
const m0 = process.memoryUsage();
const cpu0 = process.cpuUsage();
const ix = new MasterIndex();
for (let p = 0; p * perPack < blobs; p++) {
  const entries = Array.from({ length: Math.min(perPack, blobs - p * perPack) }, (_, k) => ({ type: 0, flags: 1, id: id(p * perPack + k), offset: k * 1000, length: 1000, rawLength: 2000 }));
  ix.addPack({ id: id(2 ** 40 + p).toString('hex'), salt: id(2 ** 41 + p), kind: 0, keySource: 0 }, entries);
}
const cpu = process.cpuUsage(cpu0);
// Twice, a turn apart: backing stores of the runs a merge replaced are freed by a sweeper after the first.
gc?.();
await new Promise((r) => setImmediate(r));
gc?.();
const m = process.memoryUsage();
const per = (bytes: number): number => +(bytes / ix.size).toFixed(2);
console.log(JSON.stringify({
  blobs: ix.size, perPack, bytesPerBlob: per(ix.byteLength), rssPerBlob: per(m.rss - m0.rss),
  // Where the RSS went: typed arrays' backing stores (the index itself) and the V8 heap (this benchmark's garbage, not yet returned).
  arrayBuffersPerBlob: per(m.arrayBuffers - m0.arrayBuffers), heapTotalPerBlob: per(m.heapTotal - m0.heapTotal),
  gcRun: gc !== undefined, cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
}));
