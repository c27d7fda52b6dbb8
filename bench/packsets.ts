/**
 * Gap 3 of issue 15's vault deletion (docs/retention.md "Vault mode: the
 * vault deletes"): a backup under Object Lock in vault mode needed the new
 * snapshot's pack set twice (the retention extension and the vault's
 * record), and walked its trees for each. This times both ways side by side
 * in one run on a generated tree in a local repository: two walks (as
 * before: a PackSets each) against one shared PackSets (now).
 *   node dist/bench/packsets.js [dirs=2000] [files-per-dir=10]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { recoveryRecipient } from '../src/keys/index.js';
import { backup, PackSets } from '../src/operations/index.js';
import { generateRecoveryCode } from '../src/repository/format/keyfile.js';
import { Repository } from '../src/repository/repository.js';
import { WorkerPool } from '../src/repository/workers.js';
import { openBackend } from '../src/storage/open.js';

const [dirs = 2000, files = 10] = process.argv.slice(2).map(Number);
const root = await mkdtemp(join(tmpdir(), 'ebak-bench-packsets-'));
const src = join(root, 'src');
for (let d = 0; d < dirs; d++) {
  const at = join(src, `g${d % 40}`, `d${d}`);
  mkdirSync(at, { recursive: true });
  for (let f = 0; f < files; f++) writeFileSync(join(at, `f${f}`), `${d}/${f}\n`);
}
const backend = await openBackend(join(root, 'repo'), {});
const repo = await Repository.init(backend, [recoveryRecipient(generateRecoveryCode())]);
const pool = new WorkerPool();
const { snapshot } = await backup(repo, pool, { paths: [src] });
await pool.close();

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const rounds = 3;
const twice: number[] = [];
const once: number[] = [];
for (let i = 0; i < rounds; i++) {
  twice.push(await timed(async () => {
    await new PackSets(repo).under(snapshot.tree);
    await new PackSets(repo).under(snapshot.tree);
  }));
  once.push(await timed(async () => {
    const shared = new PackSets(repo);
    await shared.under(snapshot.tree);
    await shared.under(snapshot.tree);
  }));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`${dirs} dirs × ${files} files (${dirs + 41} trees), load ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(`two walks (before): ${median(twice).toFixed(0)} ms   one shared walk (now): ${median(once).toFixed(0)} ms   ratio ${(median(twice) / median(once)).toFixed(2)}`);
await backend.close();
await rm(root, { recursive: true, force: true });
