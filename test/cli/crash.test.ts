/**
 * kill -9 during backup, at several points of a ~200 MiB backup (before the
 * lock, while packs are being written, after several packs, at the very end):
 * afterwards `check` passes (leftover packs are warnings), `snapshots` lists
 * only complete snapshots, the stale lock of the killed process does not
 * block the next backup, and that backup restores byte-identical. The
 * killed backups leave nothing in their temporary directory (the packs being
 * written are unnamed files, docs/format.md "Packs being written").
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { ebak, fileDigests, newRepo, repoFiles, startEbak, tempDir } from './harness.js';

const FILES = 25;
const FILE_BYTES = 8 << 20; // 200 MiB in all: about 13 data packs of 16 MiB

type Trigger = { afterMs: number } | { packs: number } | { indexes: number };

/** Starts a backup and SIGKILLs it at the trigger; returns whether it had already finished (exit 0). */
async function killDuring(args: string[], env: Record<string, string>, repo: string, trigger: Trigger): Promise<{ finished: boolean; stderr: string }> {
  const { child, done } = startEbak(args, env);
  let exited = false;
  void done.then(() => (exited = true));
  if ('afterMs' in trigger) await sleep(trigger.afterMs);
  else if ('packs' in trigger) while (!exited && (await repoFiles(repo, 'data')).length < trigger.packs) await sleep(10);
  else while (!exited && (await repoFiles(repo, 'index')).length < trigger.indexes) await sleep(2);
  child.kill('SIGKILL');
  const r = await done;
  if (r.code === 0) return { finished: true, stderr: r.stderr };
  assert.equal(child.signalCode, 'SIGKILL', `the backup failed on its own: ${r.stderr}`);
  return { finished: false, stderr: r.stderr };
}

it('survives kill -9 at several points of a backup', { timeout: 120_000 }, async () => {
  const dir = await tempDir('ebak-crash-');
  const src = join(dir, 'src');
  await mkdir(src);
  for (let i = 0; i < FILES; i++) await writeFile(join(src, `f${String(i).padStart(2, '0')}`), randomBytes(FILE_BYTES));
  const { env: repoEnv } = await newRepo(dir);
  const repo = repoEnv.EBAK_REPOSITORY;
  const tmp = join(dir, 'tmp');
  await mkdir(tmp);
  const env = { ...repoEnv, TMPDIR: tmp };
  let complete = 0;
  let interrupted = 0;
  let staleSeen = false;
  // A backup's index file appears only at its end, just before the snapshot: that kill lands between
  // the two, or just after. 14 packs is a whole backup (13 data, 1 tree), unless indexed blobs are reused.
  const triggers: Trigger[] = [{ afterMs: 100 }, { afterMs: 300 }, { afterMs: 600 }, { packs: 2 }, { packs: 6 }, { indexes: 1 }, { packs: 14 }];
  for (const trigger of triggers) {
    const [packs, indexes] = [(await repoFiles(repo, 'data')).length, (await repoFiles(repo, 'index')).length];
    const k = await killDuring(['backup', src], env, repo,
      'packs' in trigger ? { packs: packs + trigger.packs } : 'indexes' in trigger ? { indexes: indexes + trigger.indexes } : trigger);
    if (k.finished) complete++;
    assert.deepEqual(await readdir(tmp), [], `nothing left in TMPDIR after a kill at ${JSON.stringify(trigger)}`);
    staleSeen ||= /ignoring stale lock locks\/[0-9a-f]+ \(pid \d+/.test(k.stderr);
    const c = await ebak(['check'], env);
    assert.equal(c.code, 0, `check after a kill at ${JSON.stringify(trigger)}: ${c.stdout}${c.stderr}`);
    assert.ok(!/^error:/m.test(c.stdout), c.stdout);
    // A kill that lands after the snapshot was saved (the last trigger can) leaves a complete
    // snapshot; `check` above proved every listed snapshot's trees and blobs are all there.
    const snaps = JSON.parse((await ebak(['snapshots', '--json'], env)).stdout) as unknown[];
    if (process.env.EBAK_TEST_VERBOSE) console.log(JSON.stringify(trigger), { finished: k.finished, snapshots: snaps.length, packs: (await repoFiles(repo, 'data')).length, indexes: (await repoFiles(repo, 'index')).length });
    assert.ok(snaps.length === complete || (snaps.length === complete + 1 && !k.finished), `${snaps.length} snapshots after ${complete} complete backups`);
    if (snaps.length > complete) assert.equal((await ebak(['ls', 'latest', src], env)).stdout.split('\n').filter(Boolean).length, FILES + 1);
    else interrupted++;
    complete = snaps.length;
  }
  assert.ok(interrupted >= 5, 'the backups were really interrupted');
  assert.ok((await repoFiles(repo, 'locks')).length > 0, 'the killed processes left their locks behind');
  const b = await ebak(['backup', src, '--json'], env);
  assert.equal(b.code, 0, b.stderr);
  staleSeen ||= /ignoring stale lock/.test(b.stderr);
  assert.ok(staleSeen, 'the stale lock of a killed backup was reported and ignored');
  const snaps = JSON.parse((await ebak(['snapshots', '--json'], env)).stdout) as unknown[];
  assert.equal(snaps.length, complete + 1);
  const out = join(dir, 'out');
  const r = await ebak(['restore', 'latest', '--target', out], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
  assert.equal((await readdir(join(out, src))).length, FILES);
  const c = await ebak(['check', '--read-data'], env);
  assert.equal(c.code, 0, c.stdout + c.stderr);
});
