/**
 * `ebak forget` through the real CLI: backups made at chosen times
 * (`backup --time`), a policy run, then `snapshots` lists exactly the kept
 * ones, `check` passes and every kept snapshot restores byte-identical.
 * Dry runs delete nothing and print restic's JSON shape; the process's TZ
 * decides the buckets; named ids are removed only when all resolve; bad
 * input (with or without --prune) and a lock held by another process fail with one line and
 * delete nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { Repository } from '../../src/repository/repository.js';
import { openBackend } from '../../src/storage/open.js';
import { backupSummary, ebak, errorLines, fileDigests, jsonError, newRepo, repoFiles, tempDir } from './harness.js';

/** Mon 1 Jan 08:00 … Tue 9 Jan 18:00 2024, UTC: two ISO weeks. */
const TIMES = ['2024-01-01T08:00:00.000Z', '2024-01-01T20:00:00.000Z', '2024-01-03T09:00:00.000Z', '2024-01-08T09:00:00.000Z', '2024-01-09T09:00:00.000Z', '2024-01-09T18:00:00.000Z'];

interface Fixture {
  dir: string;
  env: Record<string, string>;
  /** Snapshot id by time, and the source's digests when it was taken. */
  ids: Map<string, string>;
  digests: Map<string, Map<string, string>>;
}

/** A repository with one snapshot per time in `times`, the source changed before each (`host`: backup --host). */
async function fixture(times: readonly string[], host?: string): Promise<Fixture> {
  const dir = await tempDir('ebak-forget-');
  const { env } = await newRepo(dir);
  const src = join(dir, 'src');
  await mkdir(src);
  const fx: Fixture = { dir, env, ids: new Map(), digests: new Map() };
  for (const [i, time] of times.entries()) {
    await writeFile(join(src, 'version.txt'), `version ${i}`);
    await writeFile(join(src, `data-${i}.bin`), randomBytes(64 * 1024 + i));
    const b = await ebak(['backup', src, '--time', time, '--json', ...(host ? ['--host', host] : [])], env);
    assert.equal(b.code, 0, b.stderr);
    fx.ids.set(time, (backupSummary(b) as { snapshot_id: string }).snapshot_id);
    fx.digests.set(time, await fileDigests(src));
  }
  return fx;
}

/** What `ebak snapshots` lists, as times. */
async function snapshotTimes(env: Record<string, string>): Promise<string[]> {
  const r = await ebak(['snapshots', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { time: string }[]).map((s) => s.time).sort();
}

/** The snapshot objects stored (read straight from the directory: "nothing was deleted"). */
async function storedIds(env: Record<string, string>): Promise<string[]> {
  return (await repoFiles(env.EBAK_REPOSITORY!, 'snapshots')).map((p) => basename(p)).sort();
}

const fx = await fixture(TIMES);
const allIds = [...fx.ids.values()].sort();
const idAt = (i: number) => fx.ids.get(TIMES[i]!)!;

describe('ebak forget', () => {
  it('--dry-run lists every decision with its reasons, in restic JSON, and removes nothing', async () => {
    const r = await ebak(['forget', '--keep-daily', '2', '--keep-weekly', '2', '--dry-run', '--json'], { ...fx.env, TZ: 'UTC' });
    assert.equal(r.code, 0, r.stderr);
    const groups = JSON.parse(r.stdout) as { host: string; paths: string[]; tags: null; keep: { id: string; time: string }[]; remove: { time: string }[]; reasons: { snapshot: { id: string }; matches: string[] }[] }[];
    assert.equal(groups.length, 1);
    const [g] = groups;
    assert.deepEqual(g!.paths, [join(fx.dir, 'src')]);
    assert.equal(g!.tags, null);
    // restic's rules (docs/retention.md), newest first: Jan 9 18:00 opens a day and ISO week 2; Jan 9 09:00 opens
    // neither; Jan 8 the second day (daily spent); Jan 3 week 1 (weekly spent); the rest nothing, counts spent.
    assert.deepEqual(g!.keep.map((s) => s.time), [TIMES[5], TIMES[3], TIMES[2]]);
    assert.deepEqual(g!.remove.map((s) => s.time), [TIMES[4], TIMES[1], TIMES[0]]);
    assert.deepEqual(g!.reasons.map((x) => [x.snapshot.id, x.matches]), [
      [idAt(5), ['daily snapshot', 'weekly snapshot']], [idAt(3), ['daily snapshot']], [idAt(2), ['weekly snapshot']],
    ]);
    assert.deepEqual(await storedIds(fx.env), allIds);
  });

  it('the buckets follow the TZ of the process running forget', async () => {
    const kept = async (tz: string) => {
      const r = await ebak(['forget', '--keep-daily', '4', '--dry-run', '--json'], { ...fx.env, TZ: tz });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { keep: { time: string }[] }[])[0]!.keep.map((s) => s.time);
    };
    // UTC days: Jan 9, 8, 3, 1. At UTC+14 the times read Jan 10 08:00, Jan 9 23:00, Jan 8 23:00, Jan 3 23:00, …: other days.
    assert.deepEqual(await kept('UTC'), [TIMES[5], TIMES[3], TIMES[2], TIMES[1]]);
    assert.deepEqual(await kept('Pacific/Kiritimati'), [TIMES[5], TIMES[4], TIMES[3], TIMES[2]]);
  });

  it('bad input is one line, a non-zero exit, and deletes nothing', async () => {
    const cases: [string[], string][] = [
      [['--keep-daily', 'x'], 'USAGE'],
      [['--keep-daily', '-2'], 'USAGE'],
      [['--keep-within', '1w'], 'USAGE'],
      [['--keep-within-daily', '5'], 'USAGE'],
      [['--group-by', 'hosts,colour', '--keep-last', '1'], 'USAGE'],
      [['--frobnicate'], 'USAGE'],
      [['--keep-last', '0'], 'USAGE'], // an empty policy would remove everything
      [['--keep-tag', 'never-set'], 'USAGE'], // keeps nothing of the group
      [[idAt(0), '--keep-last', '1'], 'USAGE'],
      [[idAt(0), '--host', 'x'], 'USAGE'],
      [['nothex'], 'USAGE'],
      // With --prune, bad input is refused before anything is forgotten or pruned.
      [['--keep-last', 'x', '--prune'], 'USAGE'],
      [['nothex', '--prune'], 'USAGE'],
    ];
    for (const [args, code] of cases) {
      const r = await ebak(['forget', ...args, '--json'], fx.env);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(jsonError(r).code, code, args.join(' '));
    }
    for (const args of [[], ['--keep-last', 'x', '--prune']]) {
      const r = await ebak(['forget', ...args], fx.env);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    }
    assert.deepEqual(await storedIds(fx.env), allIds);
  });

  it('a lock held by another process: exit 11 and nothing removed; a dry run reads beside a shared lock', async () => {
    const backend = await openBackend(fx.env.EBAK_REPOSITORY!, {});
    try {
      const repo = await Repository.open(backend, { password: fx.env.EBAK_PASSWORD! });
      const lock = await repo.lock('shared', () => undefined);
      try {
        for (const args of [['--keep-last', '1'], [idAt(0)]]) {
          const r = await ebak(['forget', ...args, '--json'], fx.env);
          assert.equal(r.code, 11, r.stderr);
          assert.equal(jsonError(r).code, 'LOCKED');
        }
        const dry = await ebak(['forget', '--keep-last', '1', '--dry-run'], fx.env);
        assert.equal(dry.code, 0, dry.stderr);
      } finally {
        await lock.release();
      }
    } finally {
      await backend.close();
    }
    assert.deepEqual(await storedIds(fx.env), allIds);
  });

  it('removes what the policy does not keep: snapshots lists the rest, check passes, each restores', async () => {
    const r = await ebak(['forget', '--keep-daily', '2', '--keep-weekly', '2'], { ...fx.env, TZ: 'UTC' });
    assert.equal(r.code, 0, r.stderr);
    const kept = [TIMES[2]!, TIMES[3]!, TIMES[5]!];
    assert.deepEqual(await snapshotTimes(fx.env), kept);
    const c = await ebak(['check', '--read-data'], fx.env);
    assert.equal(c.code, 0, c.stderr + c.stdout);
    for (const t of kept) {
      const out = join(fx.dir, `restore-${t.slice(0, 13)}`);
      const res = await ebak(['restore', fx.ids.get(t)!, '--target', out], fx.env);
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(await fileDigests(join(out, fx.dir, 'src')), fx.digests.get(t), `snapshot of ${t} restores byte-identical`);
    }
  });

  it('removes named snapshots (a prefix, a full id, "latest") only when every one resolves', async () => {
    const missing = await ebak(['forget', idAt(2).slice(0, 8), 'ffffffffff', '--json'], fx.env);
    assert.equal(missing.code, 1);
    assert.equal(jsonError(missing).code, 'NOT_FOUND');
    assert.deepEqual(await storedIds(fx.env), [idAt(2), idAt(3), idAt(5)].sort());
    const r = await ebak(['forget', idAt(2).slice(0, 8), idAt(3), 'latest'], fx.env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await snapshotTimes(fx.env), []);
  });

  it('--host selects the snapshots a policy applies to; groups are per host', async () => {
    const hosts = await fixture(TIMES.slice(0, 2), 'alpha');
    const src = join(hosts.dir, 'src');
    for (const t of TIMES.slice(2, 4)) assert.equal((await ebak(['backup', src, '--time', t, '--host', 'beta'], hosts.env)).code, 0);
    const r = await ebak(['forget', '--host', 'alpha', '--keep-last', '1'], hosts.env);
    assert.equal(r.code, 0, r.stderr);
    const one = await ebak(['forget', '--keep-last', '1', '--json'], hosts.env); // one per host group
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual((JSON.parse(one.stdout) as { host: string }[]).map((g) => g.host), ['alpha', 'beta']);
    assert.deepEqual(await snapshotTimes(hosts.env), [TIMES[1], TIMES[3]]);
  });
});
