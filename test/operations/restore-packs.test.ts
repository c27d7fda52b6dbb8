/**
 * The pack-oriented write pass (src/restorer/packs.ts, sink.ts), in-process:
 * small packs, so small files share packs and large files spread over
 * several; more files than one batch; a blob shared by two files and a blob
 * twice in one file; an empty file; zeros left as holes with --sparse. Then a
 * damaged blob of a small file and one of a file spread over packs: each
 * fails only its own file, which is left out, and every other file (its
 * neighbours in the same ranged read included) comes back byte for byte.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { recoveryRecipient } from '../../src/keys/index.js';
import { backup, restore } from '../../src/operations/index.js';
import { generateRecoveryCode } from '../../src/repository/format/keyfile.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { DRY_FILES } from '../../src/restorer/packs.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import { walk } from '../../src/walker/index.js';
import { tempDir } from '../cli/harness.js';

const dir = await tempDir('ebak-restore-packs-');
const src = join(dir, 'src');
// More files than one batch: the first goes out at DRY_FILES at the latest (no run is outstanding before it).
const SMALL = DRY_FILES + 44;
let backend: OpenedBackend;
let repo: Repository;
let pool: WorkerPool;
let snapshot: string;

before(async () => {
  backend = await openBackend(join(dir, 'repo'), {});
  repo = await Repository.init(backend, [recoveryRecipient(generateRecoveryCode())]);
  repo.setWriting({ pack_size: 512 * 1024 });
  pool = new WorkerPool();
  await mkdir(join(src, 'small'), { recursive: true });
  let previous = randomBytes(10);
  for (let i = 0; i < SMALL; i++) {
    const data = i % 10 === 0 ? previous : randomBytes(100 + ((i * 37) % 3000)); // every tenth a copy: one blob, two files
    await writeFile(join(src, 'small', `f${String(i).padStart(3, '0')}`), data);
    previous = data;
  }
  await writeFile(join(src, 'big.bin'), randomBytes(6 * 1024 * 1024));
  // Zeros in chunks of the largest size: one blob twice in the file.
  await writeFile(join(src, 'holes.img'), Buffer.concat([randomBytes(300_000), Buffer.alloc(18 * 1024 * 1024), randomBytes(5000)]));
  await writeFile(join(src, 'empty'), '');
  snapshot = (await backup(repo, pool, { paths: [src] })).id;
});
after(async () => {
  await pool.close();
  await backend.close();
});

it('small files sharing packs, files spread over packs, shared and repeated blobs, an empty file: each restored byte for byte; --sparse leaves the zeros as holes', async () => {
  const out = join(dir, 'out');
  const r = await restore(repo, repo.blobReader(pool), { snapshot, target: out });
  assert.equal(r.errors, 0);
  assert.equal(r.files, SMALL + 3);
  assert.deepEqual(await digests(join(out, src)), await digests(src));
  const sparse = join(dir, 'out-sparse');
  assert.equal((await restore(repo, repo.blobReader(pool), { snapshot, target: sparse, sparse: true })).errors, 0);
  assert.deepEqual(await digests(join(sparse, src)), await digests(src));
  const holes = await stat(join(sparse, src, 'holes.img'));
  assert.ok(holes.blocks * 512 < holes.size / 2, `${holes.blocks} blocks allocated for ${holes.size} bytes`);
});

it('a damaged blob fails only its file, small or spread over packs; the rest, its neighbours included, is restored', async () => {
  const content = await contents();
  const victims = [join(src, 'small', 'f005'), join(src, 'big.bin')];
  damage(content.get(victims[0]!)![0]!);
  damage(content.get(victims[1]!)![1]!); // its second blob, in another pack than the first
  const out = join(dir, 'out-damaged');
  const warnings: string[] = [];
  const r = await restore(repo, repo.blobReader(pool), { snapshot, target: out, onEvent: (e) => e.type === 'warning' && warnings.push(e.message) });
  assert.equal(r.errors, 2);
  assert.equal(warnings.length, 2);
  assert.equal(r.files, SMALL + 1);
  const want = await digests(src);
  for (const v of victims) want.delete(v.slice(src.length));
  assert.deepEqual(await digests(join(out, src)), want, 'the damaged files are left out, nothing else');
});

/** Each file path (relative to `root`) with the SHA-256 of its bytes. */
async function digests(root: string, rel = ''): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const path = `${rel}/${e.name}`;
    if (e.isDirectory()) for (const [p, d] of await digests(root, path)) found.set(p, d);
    else found.set(path, createHash('sha256').update(await readFile(join(root, path))).digest('hex'));
  }
  return new Map([...found].sort());
}

/** The snapshot's files: source path → blob ids. */
async function contents(): Promise<Map<string, string[]>> {
  const found = new Map<string, string[]>();
  const { snapshot: s } = await repo.findSnapshot(snapshot);
  await walk(repo, s.tree, {
    node(path, n) {
      if (n.type === 'file') found.set(path, n.content ?? []);
    },
  });
  return found;
}

/** Flips a byte inside a blob's ciphertext in its pack file. */
function damage(hex: string): void {
  const loc = repo.blobReader(pool).lookupBlob(Buffer.from(hex, 'hex'))!;
  const fd = openSync(join(dir, 'repo', 'data', loc.pack.id.slice(0, 2), loc.pack.id), 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, loc.offset + 20);
    b[0]! ^= 0xff;
    writeSync(fd, b, 0, 1, loc.offset + 20);
  } finally {
    closeSync(fd);
  }
}
