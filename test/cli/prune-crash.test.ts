/**
 * kill -9 during prune, at seeded kill points: a prune process
 * (prune-killer.ts) SIGKILLs itself just before or just after its k-th
 * write or delete in storage, for every k of a prune that deletes, repacks
 * and rewrites the index, in an order the seed shuffles (the seed is
 * printed; EBAK_TEST_SEED replays it). After each kill `check --read-data`
 * finds no error and every kept snapshot restores byte-identical; then the
 * next prune finishes the job: afterwards check warns of nothing (no pack
 * left unindexed, no mark left) and a further prune plans nothing.
 *
 * The suite kills at a seeded sample of the points (each run a different
 * sample, so CI covers them all over time); scripts/soak-prune.sh kills at
 * every one (EBAK_TEST_PRUNE_POINTS=0).
 */
import assert from 'node:assert/strict';
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { prune } from '../../src/operations/index.js';
import { prng } from '../prng.js';
import { ebak, ROOT } from './harness.js';
import { runKiller, shuffled, type When } from './kill-points.js';
import { assertWhole, history, snapshotIds, withRepository } from './prune-fixture.js';

const KILLER = join(ROOT, 'dist/test/cli/prune-killer.js');
const SEED = Number(process.env.EBAK_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Kill points per run: a seeded sample of 6 in the suite; 0 takes every one. */
const SAMPLE = Number(process.env.EBAK_TEST_PRUNE_POINTS ?? 6);
const OPTS = { maxUnused: { percent: 5 }, maxRepackBytes: Infinity };

/** Runs the killer; returns how it ended: killed, or finished with its count of writes and deletes. */
async function killPrune(repo: string, key: Buffer, k: number, when: When): Promise<{ killed: boolean; mutations: number }> {
  const r = await runKiller(KILLER, [repo, key.toString('hex'), String(k), when]);
  return { killed: r.killed, mutations: r.killed ? 0 : Number(r.stdout.trim()) };
}

it(`survives kill -9 at every write and delete of a prune (seed ${SEED})`, { timeout: 1_800_000 }, async () => {
  console.log(`prune crash test: seed ${SEED} (replay with EBAK_TEST_SEED=${SEED})`);
  const h = await history({ backups: 6, files: 24, fileBytes: 64 * 1024, changes: 8, seed: SEED }); // six index files and about eight packs to remove: 30+ kill points whatever the seed
  const forgot = await ebak(['forget', '--keep-last', '2'], h.env);
  assert.equal(forgot.code, 0, forgot.stderr);
  const kept = await snapshotIds(h.env);
  for (const id of h.digests.keys()) if (!kept.includes(id)) h.digests.delete(id);
  const template = h.env.EBAK_REPOSITORY!;
  const work = join(h.dir, 'work');
  const fresh = async () => {
    await rm(work, { recursive: true, force: true });
    await cp(template, work, { recursive: true });
  };
  await fresh();
  const { mutations } = await killPrune(work, h.key, 0, 'before');
  const all = shuffled(Array.from({ length: mutations }, (_, i) => i + 1).flatMap((k) => [{ k, when: 'before' as const }, { k, when: 'after' as const }]), prng(SEED));
  assert.ok(all.length >= 30, `${all.length} kill points (a prune of ${mutations} writes and deletes)`);
  const points = SAMPLE > 0 ? all.slice(0, SAMPLE) : all;
  console.log(`prune crash test: ${points.length} of ${all.length} kill points over ${mutations} writes and deletes`);
  let killed = 0;
  for (const { k, when } of points) {
    const at = `seed ${SEED}, killed ${when} write/delete ${k} of ${mutations}`;
    await fresh();
    const r = await killPrune(work, h.key, k, when);
    if (r.killed) killed++;
    await assertWhole({ location: work, key: h.key, dir: h.dir, digests: h.digests }, `${at}: after the kill`);
    const next = await withRepository(work, h.key, (repo, pool) => prune(repo, pool, { ...OPTS, dryRun: false }));
    assert.equal(next.pending, 0, `${at}: the next prune deletes every mark`);
    await assertWhole({ location: work, key: h.key, dir: h.dir, digests: h.digests }, `${at}: after the next prune`, true);
    const plan = await withRepository(work, h.key, (repo, pool) => prune(repo, pool, { ...OPTS, dryRun: true }));
    assert.deepEqual([plan.toDelete, plan.toRepack], [[], []], `${at}: nothing is left to prune`);
  }
  assert.ok(killed >= points.length - Math.floor(points.length / 10), `${killed} of ${points.length} prunes were really killed`);
});
