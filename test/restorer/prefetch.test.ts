/**
 * Tree loads ahead of the restore walk (src/restorer/prefetch.ts), in
 * process on a real repository: a walk through TreePrefetch sees every
 * directory's entries in the order dirEntries gives them; each tree it
 * enters is read once (read ahead, then taken), none it does not enter is
 * read, and what is read ahead and not yet taken stays within the window
 * (a few trees per directory being walked), however wide the directories.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { recoveryRecipient } from '../../src/keys/index.js';
import { backup } from '../../src/operations/index.js';
import type { TreeLoader } from '../../src/repository/api.js';
import { generateRecoveryCode } from '../../src/repository/format/keyfile.js';
import { Repository } from '../../src/repository/repository.js';
import { dirEntries } from '../../src/repository/trees.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { TreePrefetch } from '../../src/restorer/prefetch.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import { tempDir } from '../cli/harness.js';

const dir = await tempDir('ebak-prefetch-');
const src = join(dir, 'src');
let backend: OpenedBackend;
let repo: Repository;
let pool: WorkerPool;
let root: string;

/** 10 directories, each of 9 subdirectories (3 of them named skip-*) holding a file and a subdirectory with a file. */
before(async () => {
  backend = await openBackend(join(dir, 'repo'), {});
  repo = await Repository.init(backend, [recoveryRecipient(generateRecoveryCode())]);
  pool = new WorkerPool();
  for (let a = 0; a < 10; a++) {
    for (let b = 0; b < 9; b++) {
      const leaf = join(src, `d${a}`, `${b % 3 === 0 ? 'skip' : 'keep'}-${b}`, 'deep');
      await mkdir(leaf, { recursive: true });
      await writeFile(join(leaf, 'f'), `${a}/${b}`);
      await writeFile(join(leaf, '..', 'g'), `${b}/${a}`);
    }
  }
  const id = (await backup(repo, pool, { paths: [src] })).id;
  root = (await repo.loadSnapshot(id)).tree;
});
after(async () => {
  await pool.close();
  await backend.close();
});

/** The repository's trees, counting reads. */
function counting(trees: TreeLoader): TreeLoader & { reads: Map<string, number> } {
  const reads = new Map<string, number>();
  return {
    reads,
    loadTree: (id) => trees.loadTree(id),
    loadTreeBlob(id) {
      reads.set(id, (reads.get(id) ?? 0) + 1);
      return trees.loadTreeBlob!(id);
    },
  };
}

/** Walks through the prefetcher, entering what `enters` allows; the entries seen per tree, and the most read ahead but not taken. */
async function walkAhead(enters: (rel: string) => boolean): Promise<{ seen: Map<string, string[]>; entered: string[]; reads: Map<string, number>; maxAhead: number }> {
  const trees = counting(repo);
  const ahead = new TreePrefetch(trees, enters);
  const seen = new Map<string, string[]>();
  const entered: string[] = [];
  let maxAhead = 0;
  const visit = async (id: string, rel: string): Promise<void> => {
    entered.push(id);
    const names: string[] = [];
    seen.set(id, names);
    for await (const part of ahead.parts(id, rel)) for (const n of part) {
      names.push(n.name);
      maxAhead = Math.max(maxAhead, trees.reads.size - entered.length);
      if (n.type === 'dir' && enters(`${rel}/${n.name}`)) await visit(n.subtree!, `${rel}/${n.name}`);
    }
  };
  await visit(root, '');
  return { seen, entered, reads: trees.reads, maxAhead };
}

async function names(id: string): Promise<string[]> {
  const out: string[] = [];
  for await (const n of dirEntries(repo, id)) out.push(n.name);
  return out;
}

/** The trees a plain walk (dirEntries) enters, as `enters` allows. */
async function plainWalk(enters: (rel: string) => boolean, id = root, rel = ''): Promise<string[]> {
  const out = [id];
  for await (const n of dirEntries(repo, id)) if (n.type === 'dir' && enters(`${rel}/${n.name}`)) out.push(...(await plainWalk(enters, n.subtree!, `${rel}/${n.name}`)));
  return out;
}

it('a walk through the prefetcher sees every entry in order; each tree entered is read once and no other; the trees read ahead stay within the window', async () => {
  const { seen, entered, reads, maxAhead } = await walkAhead(() => true);
  assert.deepEqual(entered, await plainWalk(() => true));
  assert.ok(entered.length > 10 * 9 * 2);
  for (const [id, got] of seen) assert.deepEqual(got, await names(id));
  assert.deepEqual([...reads.keys()].sort(), [...new Set(entered)].sort());
  assert.ok([...reads.values()].every((n) => n === 1));
  assert.ok(maxAhead > 0 && maxAhead <= 4 * 8, `read ahead ${maxAhead}`);
});

it('trees of directories the walk does not enter are never read', async () => {
  const enters = (rel: string) => !/\/skip-\d+$/.test(rel);
  const { entered, reads } = await walkAhead(enters);
  assert.deepEqual(entered, await plainWalk(enters));
  assert.ok(entered.length > 10 * 6 * 2 && entered.length < 10 * 9 * 2);
  assert.deepEqual([...reads.keys()].sort(), [...new Set(entered)].sort());
});
