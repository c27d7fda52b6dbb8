import assert from 'node:assert/strict';
import { mkdtemp, open, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { Cdc, chunkBuffer, chunkFile, DEFAULT_PARAMS, gearTable, type ChunkerParams } from '../../src/chunker/index.js';
import { keystream } from './vector-input.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ebak-chunker-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function chunksOfFile(data: Uint8Array, cdc: Cdc, readSize?: number): Promise<Buffer[]> {
  const path = join(dir, `f-${data.length}`);
  await writeFile(path, data);
  const handle = await open(path, 'r');
  try {
    const out: Buffer[] = [];
    for await (const c of chunkFile(handle, cdc, readSize === undefined ? undefined : { readSize })) out.push(c);
    return out;
  } finally {
    await handle.close();
  }
}

async function assertSameAsBuffer(params: ChunkerParams, sizes: number[], readSizes: (number | undefined)[]): Promise<void> {
  const cdc = new Cdc(gearTable(Buffer.alloc(32, 6)), params);
  for (const size of sizes) {
    const data = keystream(size, 8);
    const expected = chunkBuffer(data, cdc);
    for (const readSize of readSizes) {
      if (readSize !== undefined && readSize < 64 && size > 2 * params.max) continue; // byte-wise reads of big files are only slow
      const got = await chunksOfFile(data, cdc, readSize);
      const what = `size ${size}, readSize ${readSize}`;
      assert.deepEqual(got.map((c) => c.length), expected.map((c) => c.length), what);
      got.forEach((c, i) => {
        assert.ok(c.equals(expected[i]!), what);
        // Each chunk owns its whole ArrayBuffer, so it can be transferred to a worker.
        assert.equal(c.byteOffset, 0, what);
        assert.equal(c.buffer.byteLength, c.length, what);
      });
    }
  }
}

test('chunkFile equals chunkBuffer at the edges (small params, tiny reads force compaction)', async () => {
  const p: ChunkerParams = { min: 1024, avg: 4096, max: 16384 };
  await assertSameAsBuffer(p, [0, 1, p.min - 1, p.min, p.min + 1, p.max, p.max + 1, 3 << 20], [1, 7, 1000, 65536, undefined]);
});

test('chunkFile equals chunkBuffer with default params', async () => {
  const p = DEFAULT_PARAMS;
  await assertSameAsBuffer(p, [p.min - 1, p.max + 1, 20 << 20], [333_333, 1 << 20, undefined]);
});

test('chunkFile rejects a bad readSize', async () => {
  const handle = await open(join(dir, 'empty'), 'w+');
  try {
    const cdc = new Cdc(gearTable(Buffer.alloc(32)));
    for (const readSize of [0, -1, 1.5]) {
      await assert.rejects(chunkFile(handle, cdc, { readSize }).next(), (e) => isEbakError(e, 'USAGE'));
    }
  } finally {
    await handle.close();
  }
});

test('a consumer may stop early: no read is left in flight', async () => {
  const path = join(dir, 'early');
  await writeFile(path, keystream(20 << 20, 2));
  const handle = await open(path, 'r');
  // The real handle, with its reads counted while they are in flight.
  let inFlight = 0;
  let maxInFlight = 0;
  const counted = Object.create(handle) as FileHandle;
  counted.read = (async (...args: Parameters<FileHandle['read']>) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight);
    try {
      return await handle.read(...args);
    } finally {
      inFlight--;
    }
  }) as FileHandle['read'];
  try {
    let seen = 0;
    for await (const c of chunkFile(counted, new Cdc(gearTable(Buffer.alloc(32, 3))), { readSize: 1 << 20 })) {
      seen += c.length;
      if (seen > 2 * DEFAULT_PARAMS.avg) break; // well before the end of the 20 MiB file
    }
    assert.equal(inFlight, 0);
    assert.equal(maxInFlight, 1);
  } finally {
    await handle.close();
  }
});

test('a read failure surfaces as IO', async () => {
  const path = join(dir, 'write-only');
  await writeFile(path, keystream(4096));
  const handle = await open(path, 'w');
  try {
    await assert.rejects(chunkFile(handle, new Cdc(gearTable(Buffer.alloc(32)))).next(), (e) => isEbakError(e, 'IO'));
  } finally {
    await handle.close();
  }
});
