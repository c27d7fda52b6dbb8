/**
 * kill -9 during `key rotate-master --rewrite`, at seeded kill points: a
 * rotation process (rotate-killer.ts) SIGKILLs itself just before or just
 * after its k-th write or delete in storage: at every one of the key steps
 * (new key file, the config switch, key file removals) and at a seeded
 * sample of the rewrite's (snapshots sealed again, prune's repacking and
 * deletions, the old keys dropped). The seed is printed; EBAK_TEST_SEED
 * replays it. After each kill the password opens the repository, `check
 * --read-data` finds no error and every snapshot restores byte-identical;
 * then another `rotate-master --rewrite` finishes the job: one key file,
 * every pack under the current key, the old keys dropped, and again
 * check and restores pass.
 */
import assert from 'node:assert/strict';
import { cp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { check, restore } from '../../src/operations/index.js';
import { unlock } from '../../src/repository/keyring.js';
import { openConfig } from '../../src/repository/format/keyring.js';
import { keySourceGeneration } from '../../src/repository/format/pack.js';
import { openBackend } from '../../src/storage/open.js';
import { prng } from '../prng.js';
import { ebak, fileDigests, repoFiles, ROOT } from './harness.js';
import { runKiller, shuffled, type When } from './kill-points.js';
import { history, withRepository } from './prune-fixture.js';

const KILLER = join(ROOT, 'dist/test/cli/rotate-killer.js');
const SEED = Number(process.env.EBAK_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
/**
 * Kill points sampled from the rewrite's writes and deletes: the suite
 * takes 1 (the rewrite's deletions are prune's, which prune-crash covers);
 * scripts/soak-rotate.sh takes 40 (EBAK_TEST_ROTATE_POINTS).
 */
const REWRITE_POINTS = Number(process.env.EBAK_TEST_ROTATE_POINTS ?? 1);
/**
 * Kill points of the key steps (before and after each of the new key file,
 * the config switch and the key file removals: 14 or so): the suite takes a
 * seeded sample of 4, a different one each run; scripts/soak-rotate.sh
 * takes every one (EBAK_TEST_ROTATE_KEY_POINTS=0).
 */
const KEY_POINTS = Number(process.env.EBAK_TEST_ROTATE_KEY_POINTS ?? 4);

/** The master key the password opens now (the current one: unlock prefers it). */
async function currentKey(location: string, password: string): Promise<Buffer> {
  const backend = await openBackend(location, {});
  try {
    const u = await unlock(backend, { password });
    assert.ok('masterKey' in u);
    return u.masterKey;
  } finally {
    await backend.close();
  }
}

/** The password opens the repository (the CLI), check --read-data finds no error, and every snapshot restores as its tree was backed up (`once`: and none is there twice). */
async function assertWhole(location: string, env: Record<string, string>, dir: string, byTree: Map<string, Map<string, string>>, what: string, once: boolean): Promise<void> {
  const r = await ebak(['snapshots', '--json'], { ...env, EBAK_REPOSITORY: location });
  assert.equal(r.code, 0, `${what}: the password opens the repository: ${r.stderr}`);
  // A kill between a snapshot's new copy and the old one's removal leaves both for a moment: the next rotation removes the old.
  const trees = (JSON.parse(r.stdout) as { tree: string }[]).map((s) => s.tree).sort();
  assert.deepEqual(once ? trees : [...new Set(trees)], [...byTree.keys()].sort(), `${what}: every snapshot is there${once ? ' once' : ''}`);
  await withRepository(location, await currentKey(location, env.EBAK_PASSWORD!), async (repo, pool) => {
    assert.deepEqual((await check(repo, { readData: true })).errors, [], `${what}: check --read-data`);
    await repo.loadIndex();
    for (const id of await repo.listSnapshots()) {
      const out = join(dir, `restore-${id.slice(0, 8)}`);
      const { snapshot } = await repo.findSnapshot(id);
      await restore(repo, repo.blobReader(pool), { snapshot: id, target: out });
      assert.deepEqual(await fileDigests(join(out, dir, 'src')), byTree.get(snapshot.tree), `${what}: snapshot ${id.slice(0, 8)} restores byte-identical`);
      await rm(out, { recursive: true });
    }
  });
}

/** After the finishing rotation: one key file, every pack of the current generation, no old key in the keyring. */
async function assertFinished(location: string, password: string, what: string): Promise<void> {
  assert.equal((await repoFiles(location, 'keys')).length, 1, `${what}: one key file left`);
  const { keyring } = openConfig(await currentKey(location, password), await readFile(join(location, 'config')));
  assert.ok(keyring, `${what}: rotated`);
  assert.deepEqual(keyring.old, [], `${what}: the old keys are dropped`);
  for (const p of await repoFiles(location, 'data')) assert.equal(keySourceGeneration((await readFile(p))[5]!)?.generation, keyring.generation, `${what}: ${p} is of the current key`);
}

it(`survives kill -9 during rotate-master --rewrite (seed ${SEED})`, { timeout: 2_400_000 }, async () => {
  console.log(`rotate crash test: seed ${SEED} (replay with EBAK_TEST_SEED=${SEED})`);
  const h = await history({ backups: 4, files: 16, fileBytes: 64 * 1024, changes: 6, seed: SEED });
  const forgot = await ebak(['forget', '--keep-last', '2'], h.env);
  assert.equal(forgot.code, 0, forgot.stderr); // unused and partly used packs: the rewrite's prune deletes and repacks
  const snaps = JSON.parse((await ebak(['snapshots', '--json'], h.env)).stdout) as { id: string; tree: string }[];
  const byTree = new Map(snaps.map((s) => [s.tree, h.digests.get(s.id)!]));
  const template = h.env.EBAK_REPOSITORY!;
  const work = join(h.dir, 'work');
  const env = { ...h.env, EBAK_REPOSITORY: work };
  const fresh = async () => {
    await rm(work, { recursive: true, force: true });
    await cp(template, work, { recursive: true });
  };
  const kill = (k: number, when: When) => runKiller(KILLER, [work, h.env.EBAK_PASSWORD!, String(k), when]);
  await fresh();
  const [keySteps, total] = (await kill(0, 'before')).stdout.trim().split(' ').map(Number) as [number, number];
  const points = (ks: number[]) => ks.flatMap((k) => [{ k, when: 'before' as const }, { k, when: 'after' as const }]);
  const rnd = prng(SEED);
  const keyPoints = shuffled(points(Array.from({ length: keySteps }, (_, i) => i + 1)), rnd);
  const chosen = [
    ...(KEY_POINTS > 0 ? keyPoints.slice(0, KEY_POINTS) : keyPoints),
    ...shuffled(points(Array.from({ length: total - keySteps }, (_, i) => keySteps + i + 1)), rnd).slice(0, REWRITE_POINTS),
  ];
  console.log(`rotate crash test: ${chosen.length} kill points (${keySteps} writes and deletes in the key steps, ${total} in all)`);
  assert.ok(keySteps >= 5 && chosen.length >= Math.min(KEY_POINTS || Infinity, 2 * keySteps) + Math.min(REWRITE_POINTS, total - keySteps), `${chosen.length} kill points`);
  let killed = 0;
  for (const { k, when } of chosen) {
    const at = `seed ${SEED}, killed ${when} write/delete ${k} of ${total}`;
    await fresh();
    if ((await kill(k, when)).killed) killed++;
    await assertWhole(work, env, h.dir, byTree, `${at}: after the kill`, false);
    const r = await ebak(['key', 'rotate-master', '--rewrite', '--json'], env);
    assert.equal(r.code, 0, `${at}: the next rotation: ${r.stderr}`);
    assert.equal((JSON.parse(r.stdout) as { rewrite: { old_keys_dropped: boolean } }).rewrite.old_keys_dropped, true, `${at}: the next rotation drops the old keys`);
    await assertFinished(work, h.env.EBAK_PASSWORD!, at);
    await assertWhole(work, env, h.dir, byTree, `${at}: after the next rotation`, true);
  }
  assert.ok(killed >= chosen.length / 2, `${killed} of ${chosen.length} rotations were really killed`);
});
