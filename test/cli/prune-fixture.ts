/**
 * Shared by the prune tests: a repository with a history of backups whose
 * sources change between them (so forgetting some leaves unused and partly
 * used packs), the repository's files as a listing ("nothing changed"),
 * `check --read-data` and every snapshot restored and compared (in this
 * process, with the master key: the same check and restore code the CLI
 * runs, without a key derivation per command on a loaded machine), and
 * locks held by this process as another ebak would hold them.
 */
import assert from 'node:assert/strict';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { check, restore } from '../../src/operations/index.js';
import type { LockMode } from '../../src/repository/api.js';
import { unlock } from '../../src/repository/keyring.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { openBackend } from '../../src/storage/open.js';
import { prng } from '../prng.js';
import { backupSummary, ebak, fileDigests, newRepo, repoFiles, tempDir } from './harness.js';

export interface History {
  dir: string;
  src: string;
  env: Record<string, string>;
  /** The repository's master key (K). */
  key: Buffer;
  /** Snapshot id → the source's digests when it was taken. */
  digests: Map<string, Map<string, string>>;
}

/**
 * `backups` snapshots; before each, `changes` of the `files` files are
 * rewritten with fresh random bytes (`fileBytes` each, seeded).
 */
export async function history(opts: { backups: number; files: number; fileBytes: number; changes: number; seed: number }): Promise<History> {
  const dir = await tempDir('ebak-prune-');
  const { env } = await newRepo(dir);
  const src = join(dir, 'src');
  await mkdir(src);
  const rnd = prng(opts.seed);
  const h: History = { dir, src, env, key: await masterKey(env), digests: new Map() };
  for (let i = 0; i < opts.files; i++) await writeFile(join(src, `f${i}`), randomData(rnd, opts.fileBytes));
  for (let b = 0; b < opts.backups; b++) {
    if (b > 0) for (let c = 0; c < opts.changes; c++) await writeFile(join(src, `f${Math.floor(rnd() * opts.files)}`), randomData(rnd, opts.fileBytes));
    await backup(h);
  }
  return h;
}

/** One more backup of the history's source; returns the snapshot id. */
export async function backup(h: History): Promise<string> {
  const r = await ebak(['backup', h.src, '--json'], h.env);
  assert.equal(r.code, 0, r.stderr);
  const id = (backupSummary(r) as { snapshot_id: string }).snapshot_id;
  h.digests.set(id, await fileDigests(h.src));
  return id;
}

function randomData(rnd: () => number, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 4) b.writeUInt32LE(Math.floor(rnd() * 2 ** 32) >>> 0, i);
  return b;
}

/** The snapshot ids `snapshots` lists, oldest first. */
export async function snapshotIds(env: Record<string, string>): Promise<string[]> {
  const r = await ebak(['snapshots', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { id: string }[]).map((s) => s.id);
}

/** Every object of the repository with its size (locks left out): equal listings mean nothing changed. */
export async function repoListing(repo: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of ['data', 'index', 'snapshots', 'keys'] as const)
    for (const p of await repoFiles(repo, t)) out.push(`${relative(repo, p)} ${(await stat(p)).size}`);
  return out;
}

async function masterKey(env: Record<string, string>): Promise<Buffer> {
  const backend = await openBackend(env.EBAK_REPOSITORY!, {});
  try {
    const u = await unlock(backend, { password: env.EBAK_PASSWORD! });
    if (!('masterKey' in u)) throw new Error('the fixture password opened a write-only credential');
    return u.masterKey;
  } finally {
    await backend.close();
  }
}

/** Runs `fn` on the repository at `location`, opened with `key`. */
export async function withRepository<T>(location: string, key: Buffer, fn: (repo: Repository, pool: WorkerPool) => Promise<T>): Promise<T> {
  const backend = await openBackend(location, {});
  const pool = new WorkerPool(2);
  try {
    return await fn(await Repository.openWithMasterKey(backend, key), pool);
  } finally {
    await pool.close();
    await backend.close();
  }
}

/**
 * `check --read-data` finds no error (`clean`: and no warning either) and
 * every snapshot restores byte-identical to its source when it was taken
 * (`digests`, by snapshot id). Returns the snapshot ids.
 */
export async function assertWhole(h: Pick<History, 'dir' | 'key' | 'digests'> & { location?: string; env?: Record<string, string> }, what: string, clean = false): Promise<string[]> {
  const location = h.location ?? h.env!.EBAK_REPOSITORY!;
  return withRepository(location, h.key, async (repo, pool) => {
    const c = await check(repo, { readData: true });
    assert.deepEqual(c.errors, [], `${what}: check --read-data`);
    if (clean) assert.deepEqual(c.warnings, [], `${what}: check warns of nothing`);
    await repo.loadIndex();
    const ids = await repo.listSnapshots();
    for (const id of ids) {
      const out = join(h.dir, `restore-${id.slice(0, 8)}`);
      await restore(repo, repo.blobReader(pool), { snapshot: id, target: out });
      assert.deepEqual(await fileDigests(join(out, h.dir, 'src')), h.digests.get(id), `${what}: snapshot ${id.slice(0, 8)} restores byte-identical`);
      await rm(out, { recursive: true });
    }
    return ids;
  });
}

/** Holds a lock on the repository as another ebak process would, until `release`. */
export async function holdLock(env: Record<string, string>, mode: LockMode): Promise<{ release(): Promise<void> }> {
  const backend = await openBackend(env.EBAK_REPOSITORY!, {});
  const repo = await Repository.open(backend, { password: env.EBAK_PASSWORD! });
  const lock = await repo.lock(mode, () => undefined);
  return {
    async release() {
      await lock.release();
      await backend.close();
    },
  };
}
