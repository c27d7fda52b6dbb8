/**
 * Chunker throughput benchmark (not part of the test run):
 *   npx tsc -p . && node dist/bench/chunker.js [MiB=256] [--json]
 * 1. nextCut alone over MiB of random data in memory (best of several rounds);
 * 2. chunkFile end to end on a file of the same data in the OS temp dir
 *    (page-cache warm: this measures the chunker's reads and copies, not the disk);
 * 3. chunkFile's cost per small file (open, chunk, close 2,000 files of 4 KiB).
 * Prints MB/s (10^6 bytes per second) by wall clock and per CPU-second of this
 * process (all threads; steadier on a shared machine), and the chunk-size distribution.
 */
import { randomBytes, randomFillSync } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cdc, chunkFile, DEFAULT_PARAMS, gearTable } from '../src/chunker/index.js';

const ROUNDS = 5;

interface Result {
  mbPerSec: number;
  mbPerCpuSec: number;
  chunks: number;
  mean: number;
  min: number;
  max: number;
}

function stats(lengths: number[], seconds: number, cpuSeconds: number): Result {
  const body = lengths.length > 1 ? lengths.slice(0, -1) : lengths; // the last chunk is cut by EOF
  const total = lengths.reduce((a, b) => a + b, 0);
  return {
    mbPerSec: total / seconds / 1e6,
    mbPerCpuSec: total / cpuSeconds / 1e6,
    chunks: lengths.length,
    mean: total / lengths.length,
    min: Math.min(...body),
    max: Math.max(...body),
  };
}

function cutAll(data: Uint8Array, cdc: Cdc): number[] {
  const lengths: number[] = [];
  for (let s = 0; s < data.length; ) {
    const len = cdc.nextCut(data, s, data.length, true);
    lengths.push(len);
    s += len;
  }
  return lengths;
}

async function fileAll(path: string, cdc: Cdc): Promise<number[]> {
  const handle = await open(path, 'r');
  try {
    const lengths: number[] = [];
    for await (const c of chunkFile(handle, cdc)) lengths.push(c.length);
    return lengths;
  } finally {
    await handle.close();
  }
}

/** Best wall-clock and best CPU-time figures over ROUNDS runs. */
async function best(run: () => Promise<number[]> | number[]): Promise<Result> {
  let top: Result | undefined;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    const lengths = await run();
    const cpu = process.cpuUsage(c0);
    const res = stats(lengths, Number(process.hrtime.bigint() - t0) / 1e9, (cpu.user + cpu.system) / 1e6);
    top = top === undefined ? res : { ...res, mbPerSec: Math.max(top.mbPerSec, res.mbPerSec), mbPerCpuSec: Math.max(top.mbPerCpuSec, res.mbPerCpuSec) };
  }
  return top!;
}

const SMALL_FILES = 2000;

/** Milliseconds per small file for open + chunkFile + close, best of ROUNDS. */
async function smallFiles(dir: string, cdc: Cdc): Promise<number> {
  const paths = Array.from({ length: SMALL_FILES }, (_, i) => join(dir, `small-${i}`));
  for (const p of paths) await writeFile(p, randomBytes(4096));
  let top = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (const p of paths) await fileAll(p, cdc);
    top = Math.min(top, Number(process.hrtime.bigint() - t0) / 1e6 / SMALL_FILES);
  }
  return top;
}

const fmt = (r: Result): string =>
  `${r.mbPerSec.toFixed(0)} MB/s wall, ${r.mbPerCpuSec.toFixed(0)} MB/s per CPU-second, ${r.chunks} chunks, size mean ${(r.mean / 2 ** 20).toFixed(3)} MiB, min ${(r.min / 2 ** 20).toFixed(3)} MiB, max ${(r.max / 2 ** 20).toFixed(3)} MiB`;

async function main(): Promise<void> {
  const mib = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 256);
  const data = new Uint8Array(mib * 2 ** 20);
  for (let o = 0; o < data.length; o += 2 ** 16) randomFillSync(data, o, Math.min(2 ** 16, data.length - o));
  const cdc = new Cdc(gearTable(randomBytes(32)), DEFAULT_PARAMS);

  const mem = await best(() => cutAll(data, cdc));
  const dir = await mkdtemp(join(tmpdir(), 'ebak-bench-chunker-'));
  try {
    const path = join(dir, 'data');
    await writeFile(path, data);
    const file = await best(() => fileAll(path, cdc));
    const msPerSmallFile = await smallFiles(dir, cdc);
    if (process.argv.includes('--json')) {
      console.log(JSON.stringify({ mib, params: DEFAULT_PARAMS, nextCut: mem, chunkFile: file, msPerSmallFile }));
    } else {
      console.log(`chunker, ${mib} MiB random data, params ${JSON.stringify(DEFAULT_PARAMS)}, node ${process.version}, best of ${ROUNDS}`);
      console.log(`nextCut   : ${fmt(mem)}`);
      console.log(`chunkFile : ${fmt(file)}`);
      console.log(`chunkFile : ${msPerSmallFile.toFixed(3)} ms per 4 KiB file (open + chunk + close)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
