/**
 * Backups while prune runs, as real CLI processes, at several
 * interleavings. Each round builds the dangerous case: a file whose only
 * copy is in a pack no snapshot needs any more (its snapshot was
 * forgotten), then starts prune and a backup of a source holding that file
 * again, the backup `delay` ms before or after the prune. Whatever the
 * order, the backup (which may have deduplicated against the pack prune is
 * marking) and the prune both succeed, and afterwards check --read-data
 * passes and every snapshot restores byte-identical; a last prune with
 * nothing running leaves the repository clean.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { backupSummary, ebak, fileDigests, startEbak, type RunResult } from './harness.js';
import { assertWhole, backup, history, type History } from './prune-fixture.js';

/** Positive: the backup starts that many ms after the prune; negative: before it. Two backups in the last round. */
const ROUNDS = [{ delay: 0 }, { delay: 300 }, { delay: 1200 }, { delay: -300 }, { delay: -1200 }, { delay: 600, backups: 2 }];

async function backupJson(run: Promise<RunResult>, what: string): Promise<string> {
  const r = await run;
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  return (backupSummary(r) as { snapshot_id: string }).snapshot_id;
}

/** A file only in a forgotten snapshot: stored in a pack no snapshot needs. Returns its name and bytes. */
async function orphan(h: History, round: number): Promise<{ name: string; bytes: Buffer }> {
  const name = `orphan-${round}`;
  const bytes = randomBytes(700 * 1024);
  await writeFile(join(h.src, name), bytes);
  const gone = await backup(h);
  await rm(join(h.src, name));
  await backup(h);
  assert.equal((await ebak(['forget', gone], h.env)).code, 0);
  h.digests.delete(gone);
  return { name, bytes };
}

it('backups beside a running prune: nothing lost, no backup fails', { timeout: 1_200_000 }, async () => {
  const h = await history({ backups: 1, files: 6, fileBytes: 256 * 1024, changes: 0, seed: 7 });
  for (const [round, { delay, backups = 1 }] of ROUNDS.entries()) {
    const what = `round ${round} (backup ${delay} ms ${delay >= 0 ? 'after' : 'before'} prune, ${backups} backup(s))`;
    const { name, bytes } = await orphan(h, round);
    await writeFile(join(h.src, name), bytes); // the data prune is about to mark, needed again
    await writeFile(join(h.src, `new-${round}`), randomBytes(300 * 1024));
    const digests = await fileDigests(h.src);
    const startBackups = () => Array.from({ length: backups }, () => startEbak(['backup', h.src, '--json'], h.env).done);
    let runs: Promise<RunResult>[] = [];
    if (delay < 0) runs = startBackups();
    await sleep(Math.abs(delay));
    const pruning = startEbak(['prune'], h.env).done;
    if (delay >= 0) {
      await sleep(delay);
      runs = startBackups();
    }
    for (const run of runs) h.digests.set(await backupJson(run, what), digests);
    const p = await pruning;
    assert.equal(p.code, 0, `${what}: prune: ${p.stderr}`);
    await assertWhole(h, what);
  }
  const last = await ebak(['prune'], h.env);
  assert.equal(last.code, 0, last.stderr);
  await assertWhole(h, 'after a last prune with nothing running', true);
});
