/**
 * Snapshots hold the full source paths, as restic's do (issue 14, item 11):
 * /home/u/work is stored as /home/u/work (the directories on the way with
 * their real metadata), so `ls` and `restore --include` take the paths that
 * were backed up; a path or include that matches nothing is named (exit 0,
 * as restic); restore's --include/--exclude are globs. Snapshots written by
 * the previous build (base names at the root) still list, restore, and serve
 * as parents.
 */
import assert from 'node:assert/strict';
import { chmod, lstat, mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { BlobType } from '../../src/repository/format/pack.js';
import { encodeTree } from '../../src/repository/format/tree.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { openBackend } from '../../src/storage/open.js';
import { backupSummary, ebak, fileDigests, lsNodes, newRepo, tempDir, type RunResult } from './harness.js';

const base = await tempDir('ebak-paths-');
const home = join(base, 'home');
const work = join(home, 'u', 'work');
const docs = join(home, 'u', 'docs');
let env: Record<string, string>;

const paths = (r: RunResult) => lsNodes(r).map((e) => e.path);

/** Writes, with the repository API, the snapshot the previous build made of `src`: its tree as a top-level entry named by its base name. */
async function legacySnapshot(of: string, src: string): Promise<string> {
  const backend = await openBackend(env.EBAK_REPOSITORY!, {});
  const pool = new WorkerPool(1);
  try {
    const repo = await Repository.open(backend, { password: env.EBAK_PASSWORD! });
    await repo.loadIndex();
    const { snapshot } = await repo.findSnapshot(of);
    let nodes = await repo.loadTree(snapshot.tree);
    const parts = src.split('/').filter(Boolean);
    for (const name of parts.slice(0, -1)) nodes = await repo.loadTree(nodes.find((n) => n.name === name)!.subtree!);
    const top = nodes.find((n) => n.name === basename(src))!;
    const bytes = encodeTree([top]);
    const writer = repo.blobWriter(pool);
    const id = repo.blobId(bytes);
    await writer.add(BlobType.tree, id, bytes);
    await writer.finish();
    return await repo.saveSnapshot({ ...snapshot, paths: [src], time: new Date(Date.parse(snapshot.time) + 1000).toISOString(), tree: id.toString('hex'), program_version: 'ebak (previous build)' });
  } finally {
    await pool.close();
    await backend.close();
  }
}

describe('full source paths', () => {
  before(async () => {
    await mkdir(join(work, 'src'), { recursive: true });
    await mkdir(docs, { recursive: true });
    await writeFile(join(work, 'src', 'main.ts'), 'code\n');
    await writeFile(join(work, 'README.md'), 'read me\n');
    await writeFile(join(docs, 'notes.md'), 'notes\n');
    await writeFile(join(home, 'not-backed-up'), 'x');
    await chmod(join(home, 'u'), 0o751);
    await utimes(join(home, 'u'), 1_000_000_000, 1_000_000_000);
    ({ env } = await newRepo(base));
    const b = await ebak(['backup', work, docs, '--host', 'h'], env);
    assert.equal(b.code, 0, b.stderr);
  });

  it('snapshots show the full paths; ls takes them and lists the directories on the way', async () => {
    const snaps = JSON.parse((await ebak(['snapshots', '--json'], env)).stdout) as { paths: string[] }[];
    assert.deepEqual([...snaps[0]!.paths].sort(), [docs, work]);
    const all = paths(await ebak(['ls', 'latest', '--json'], env));
    for (const p of [home, join(home, 'u'), work, join(work, 'src', 'main.ts'), join(docs, 'notes.md')]) assert.ok(all.includes(p), `${p} in ${all.join(' ')}`);
    assert.ok(!all.includes(join(home, 'not-backed-up')), 'only the entries on the way to the backup paths');
    assert.deepEqual(paths(await ebak(['ls', 'latest', work, '--recursive', '--json'], env)), [work, join(work, 'README.md'), join(work, 'src'), join(work, 'src', 'main.ts')]);
  });

  it('restores under the target at the full path, the directories on the way with their recorded metadata; --include takes the full path', async () => {
    const out = join(base, 'out-all');
    assert.equal((await ebak(['restore', 'latest', '--target', out], env)).code, 0);
    const u = await lstat(join(out, home, 'u'));
    assert.equal(u.mode & 0o7777, 0o751);
    assert.equal(u.mtimeMs, 1_000_000_000_000);
    const part = join(base, 'out-part');
    const r = await ebak(['restore', 'latest', '--target', part, '--include', join(work, 'src')], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual([...(await fileDigests(part)).keys()], [join(work, 'src', 'main.ts').slice(1)]);
  });

  it('--include and --exclude are globs; both at once are refused, as in restic', async () => {
    const md = join(base, 'out-md');
    assert.equal((await ebak(['restore', 'latest', '--target', md, '--include', '*.md'], env)).code, 0);
    assert.deepEqual([...(await fileDigests(md)).keys()].sort(), [join(docs, 'notes.md').slice(1), join(work, 'README.md').slice(1)]);
    const noMd = join(base, 'out-no-md');
    assert.equal((await ebak(['restore', 'latest', '--target', noMd, '--exclude', '*.md'], env)).code, 0);
    assert.deepEqual([...(await fileDigests(noMd)).keys()], [join(work, 'src', 'main.ts').slice(1)]);
    const deep = join(base, 'out-deep');
    assert.equal((await ebak(['restore', 'latest', '--target', deep, '--include', `${home}/**/main.ts`], env)).code, 0);
    assert.deepEqual([...(await fileDigests(deep)).keys()], [join(work, 'src', 'main.ts').slice(1)]);
    const both = await ebak(['restore', 'latest', '--target', deep, '--include', '*.md', '--exclude', '*.ts'], env);
    assert.equal(both.code, 1, both.stderr);
  });

  it('an ls path or an include that matches nothing is named in a warning (exit 0, as restic)', async () => {
    const ls = await ebak(['ls', 'latest', '/work'], env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.equal(ls.stdout, '');
    assert.match(ls.stderr, /warning: \/work matches nothing/);
    const out = join(base, 'out-nothing');
    const r = await ebak(['restore', 'latest', '--target', out, '--include', '/work/src', '--include', join(work, 'src')], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('warning:')).length, 1, r.stderr);
    assert.match(r.stderr, /warning: --include "\/work\/src" matches nothing/);
  });

  it('a second backup reuses its parent\'s unchanged files', async () => {
    const b = backupSummary(await ebak(['backup', work, docs, '--host', 'h', '--json'], env)) as { files_unmodified: number; bytes_processed: number };
    assert.equal(b.files_unmodified, 3);
    assert.equal(b.bytes_processed, 0);
  });

  it('a snapshot of the previous build (base names) lists, restores, and is a parent', async () => {
    const first = backupSummary(await ebak(['backup', work, '--host', 'h', '--json'], env)) as { snapshot_id: string };
    const legacy = await legacySnapshot(first.snapshot_id, work);
    assert.deepEqual(paths(await ebak(['ls', legacy, '--json'], env)), ['/work', '/work/README.md', '/work/src', '/work/src/main.ts']);
    const out = join(base, 'out-legacy');
    assert.equal((await ebak(['restore', legacy, '--target', out], env)).code, 0);
    assert.deepEqual(await readdir(out), ['work']);
    const next = backupSummary(await ebak(['backup', work, '--host', 'h', '--json'], env)) as { files_unmodified: number; bytes_processed: number; parent?: string };
    assert.equal(next.files_unmodified, 2, 'the legacy parent\'s files are reused');
    assert.equal(next.bytes_processed, 0);
  });
});
