/**
 * The packer's randomised assembly (src/repository/packer.ts), with the real
 * worker pool sealing and a real local directory holding the packs, each
 * pack then authenticated as a reader would (decodePack, openBlob). The coin
 * is injected: with a fixed coin packs hold runs of consecutive blobs, as
 * before; with a fair one two packs fill side by side; at the end two small
 * packs become one; a small budget with four open packs does not stall.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { hmacSha256 } from '../../src/crypto/index.js';
import { openBlob } from '../../src/repository/blob.js';
import { Worker } from 'node:worker_threads';
import { BlobType, decodePack, FLAG_ZSTD, packKeyFor, type BlobEntry } from '../../src/repository/format/pack.js';
import { MasterIndex } from '../../src/repository/masterindex.js';
import { masterPackKeys, Packer, type PackChooser, type PackSink } from '../../src/repository/packer.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { LocalBackend } from '../../src/storage/local.js';
import { tempDir } from '../cli/harness.js';

const KiB = 1024;
const packMaster = randomBytes(32);
const blobKey = randomBytes(32);
const dir = await tempDir('ebak-packer-');
let pool: WorkerPool;
before(() => {
  pool = new WorkerPool();
});
after(() => pool.close());

interface Run {
  /** Each saved pack's blob ids, in pack order, as the pack's own header lists them. */
  packs: string[][];
  index: MasterIndex;
  ids: string[];
  /** How many index files the packer wrote. */
  indexFiles: number;
}

/**
 * Queues `count` blobs of `bytes` bytes, random (incompressible) unless `make` says otherwise, through a packer with this coin; every pack is read back and authenticated.
 * `adds`: each add awaited (`queued`, the default), all at once (`together`, as a directory of small files does), or each blob's sealing awaited
 * before the next add (`sealed`: a pack many blobs larger than the few being sealed, as the backup's 16 MiB packs are).
 */
async function pack(name: string, count: number, bytes: number | ((i: number) => number), choose?: PackChooser, budget?: number, adds: 'queued' | 'together' | 'sealed' = 'queued', make: (n: number, i: number) => Buffer = (n) => randomBytes(n)): Promise<Run> {
  const storage = new LocalBackend(`${dir}/${name}`);
  await storage.create();
  const index = new MasterIndex();
  const saved: string[] = [];
  let indexFiles = 0;
  const packer = newPacker(index, async (id, b) => {
    saved.push(id);
    await storage.save({ type: 'data', name: id }, b);
  }, async () => `index ${++indexFiles}`, budget, choose);
  const ids: string[] = [];
  const added: Promise<unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const data = make(typeof bytes === 'number' ? bytes : bytes(i), i);
    const id = packer.blobId(data);
    ids.push(id.toString('hex'));
    if (adds === 'sealed') {
      let sealed!: () => void;
      const done = new Promise<void>((r) => (sealed = r));
      await packer.add(BlobType.data, id, data, sealed);
      await done;
    } else if (adds === 'together') added.push(packer.add(BlobType.data, id, data));
    else await packer.add(BlobType.data, id, data);
  }
  await Promise.all(added);
  await packer.finish();
  const packs: string[][] = [];
  for (const name of saved) {
    const bytesOf = await storage.load({ type: 'data', name });
    const { key, entries } = await decodePack(async (p) => packKeyFor(packMaster, p.salt), bytesOf, name);
    assert.equal(createHash('sha256').update(bytesOf).digest('hex'), name);
    for (const e of entries) openAll(bytesOf, key, e);
    packs.push(entries.map((e) => e.id.toString('hex')));
  }
  return { packs, index, ids, indexFiles };
}

/** A packer of 256 KiB packs sealing through the pool, saving with `savePack`. */
function newPacker(index: MasterIndex, savePack: PackSink['savePack'], saveIndex: PackSink['saveIndex'], budget?: number, choose?: PackChooser): Packer {
  const config = { version: 1, id: 'ab'.repeat(32), created: '', chunker: { min: 16 * KiB, avg: 32 * KiB, max: 64 * KiB }, compression_level: 3, pack_size: 256 * KiB };
  return new Packer({ index, config, packKeys: masterPackKeys(packMaster), blobId: (d) => hmacSha256(blobKey, d), savePack, saveIndex }, pool, budget, choose);
}

/** The descriptors of this process open on files under `dir` (an unlinked file's link reads "<path> (deleted)"). */
function openUnder(dir: string): string[] {
  return readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(`${dir}/`) ? [target] : [];
    } catch {
      return []; // closed meanwhile (the listing's own descriptor)
    }
  });
}

function openAll(packBytes: Buffer, key: Buffer, e: BlobEntry): void {
  const plain = openBlob(key, blobKey, e, packBytes.subarray(e.offset, e.offset + e.length), 'blob');
  assert.equal(plain.length, e.rawLength);
}

/** True when the pack's blobs are consecutive in the order they were queued. */
const isRun = (pack: string[], ids: string[]) => pack.every((id, k) => k === 0 || ids.indexOf(id) === ids.indexOf(pack[k - 1]!) + 1);

describe('randomised pack assembly', () => {
  it('with a fixed coin, each pack is a run of consecutive blobs (the deterministic order of before)', async () => {
    const r = await pack('fixed', 24, 40 * KiB, () => 0);
    assert.ok(r.packs.length >= 3);
    const sorted = r.packs.map((p) => [...p].sort((a, b) => r.ids.indexOf(a) - r.ids.indexOf(b)));
    for (const p of sorted) assert.ok(isRun(p, r.ids));
    // Two packs may be saved at once (packer.ts `saves`: a Semaphore of 2), so they are put in queue order first.
    assert.deepEqual(sorted.sort((a, b) => r.ids.indexOf(a[0]!) - r.ids.indexOf(b[0]!)).flat(), r.ids);
  });

  it('with a fair coin, two packs fill side by side: packs are not runs of the queue, and every blob is stored once and indexed', async () => {
    const r = await pack('fair', 48, 40 * KiB);
    assert.ok(r.packs.length >= 5);
    const runs = r.packs.map((p) => [...p].sort((a, b) => r.ids.indexOf(a) - r.ids.indexOf(b))).filter((p) => isRun(p, r.ids));
    assert.ok(runs.length < r.packs.length, 'some pack holds blobs queued apart');
    assert.deepEqual(r.packs.flat().sort(), [...r.ids].sort());
    for (const id of r.ids) assert.ok(r.index.has(Buffer.from(id, 'hex')));
  });

  it('at the end, two small open packs become one, every blob sealed under its key', async () => {
    let flip = 0;
    const r = await pack('fold', 5, 20 * KiB, () => flip++ % 2);
    assert.equal(r.packs.length, 1);
    assert.deepEqual([...r.packs[0]!].sort(), [...r.ids].sort());
    for (const id of r.ids) assert.equal(r.index.lookup(Buffer.from(id, 'hex'))!.pack.id, r.index.packs[0]!.id);
  });

  it('at the end, a fold moves large blobs (sealed again where they lie, in a chunk buffer) and small ones alike', async () => {
    let flip = 0;
    // Alternating: one pack gets 100, 20 and 66 KiB, the other (the smaller, folded) 70 KiB (moved in place) then 20 KiB (in a run).
    const sizes = [100, 70, 20, 20, 66];
    const r = await pack('fold-large', sizes.length, (i) => sizes[i]! * KiB, () => flip++ % 2);
    assert.equal(r.packs.length, 1);
    assert.deepEqual([...r.packs[0]!].sort(), [...r.ids].sort());
  });

  it('blobs of a megabyte and more, between small ones, land where their entries say (written as they are, after the buffered ones)', async () => {
    const r = await pack('large', 9, (i) => (i % 3 === 2 ? 1536 * KiB : 40 * KiB), () => 0);
    assert.deepEqual(r.packs.flat().sort(), [...r.ids].sort());
    assert.ok(r.packs.some((p) => p.length > 1), 'some pack holds small blobs and a large one');
  });

  it('a pack closes at the size its file holds, not at the bytes it was given: compressible blobs fill one pack, not one per 256 KiB given', async () => {
    // 64 blobs of 40 KiB that zstd shrinks to ~100 bytes each: 2.5 MiB given, a few KiB stored (main closed a pack every 256 KiB given: 10 packs).
    const r = await pack('compressible', 64, 40 * KiB, () => 0, undefined, 'sealed', (n, i) => Buffer.from(`blob ${i} `.padEnd(n, 'abcdefgh')));
    assert.equal(r.packs.length, 1);
    assert.deepEqual([...r.packs[0]!].sort(), [...r.ids].sort());
  });

  it('a budget smaller than the open packs hold closes the fullest early instead of waiting for ever', async () => {
    let flip = 0;
    const r = await pack('budget', 30, 40 * KiB, () => flip++ % 2, 200 * KiB);
    assert.deepEqual(r.packs.flat().sort(), [...r.ids].sort());
  });

  it('many small blobs queued at once are all stored, and index files are written every 16,384 blobs, not only every 32 packs', async () => {
    // 40,000 blobs of 64 bytes fill about 16 packs of 256 KiB: before, one index file at the end held them all in memory until then.
    const r = await pack('small', 40_000, 64, undefined, undefined, 'together');
    assert.deepEqual(r.packs.flat().sort(), [...r.ids].sort());
    for (const id of r.ids) assert.ok(r.index.has(Buffer.from(id, 'hex')));
    assert.ok(r.packs.length < 32, `${r.packs.length} packs`);
    assert.ok(r.indexFiles >= 3, `${r.indexFiles} index files`);
  });
});

describe('packs being assembled', () => {
  it('live in unnamed temporary files under TMPDIR (nothing a crash could leave), and a failed save leaves no file open', async () => {
    const tmp = await tempDir('ebak-spool-');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    const seen: { named: string[]; open: string[] }[] = [];
    try {
      const packer = newPacker(new MasterIndex(), async () => {
        seen.push({ named: readdirSync(tmp), open: openUnder(tmp) });
        if (seen.length === 2) throw new Error('the storage failed');
      }, async () => 'index', undefined, () => 0);
      const adds = Array.from({ length: 40 }, () => {
        const data = randomBytes(40 * KiB);
        return packer.add(BlobType.data, packer.blobId(data), data);
      });
      await Promise.allSettled(adds);
      await assert.rejects(packer.finish(), /the storage failed/);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    assert.ok(seen.length >= 2);
    for (const s of seen) {
      assert.deepEqual(s.named, [], 'no file or directory has a name while packs are written');
      assert.ok(s.open.length >= 1 && s.open.every((t) => t.endsWith(' (deleted)')), s.open.join(', '));
    }
    // The files vanish with their descriptors: none is left open once the packer has failed.
    assert.deepEqual(openUnder(tmp), []);
    assert.deepEqual(readdirSync(tmp), []);
  });
});

describe('sealing small blobs', () => {
  it('blobs queued together cross to the workers in batches (one message for many), each sealed under its own pack key', async () => {
    const keys = [randomBytes(32), randomBytes(32), randomBytes(32)];
    // Random (stored as they are) and repetitive (compressed) blobs, 40 B to 5 KB.
    const plain = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? Buffer.alloc(40 + 17 * i, i) : randomBytes(40 + 17 * i)));
    const ids = plain.map((p) => hmacSha256(blobKey, p));
    let posted = 0;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, ...args: Parameters<Worker['postMessage']>) {
      posted++;
      return post.apply(this, args);
    };
    let sealed;
    try {
      // Each blob handed over as a copy: `seal` takes ownership of its data.
      sealed = await Promise.all(plain.map((p, i) => pool.seal(keys[i % 3]!, BlobType.data, ids[i]!, Buffer.from(p), 3)));
    } finally {
      Worker.prototype.postMessage = post;
    }
    assert.ok(posted <= plain.length / 16, `${posted} messages for ${plain.length} blobs`);
    sealed.forEach((s, i) => {
      const ref = { type: BlobType.data, flags: s.compressed ? FLAG_ZSTD : 0, rawLength: plain[i]!.length, id: ids[i]! };
      assert.deepEqual(openBlob(keys[i % 3]!, blobKey, ref, s.data, `blob ${i}`), plain[i]);
    });
    assert.ok(sealed.some((s) => s.compressed) && sealed.some((s) => !s.compressed));
  });
});
