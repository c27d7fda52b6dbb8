/**
 * The churn soak (scripts/soak-churn.sh): backs up a tree that keeps
 * changing for EBAK_SOAK_SECONDS (default 300), then restores and verifies
 * every snapshot and checks the repository. The seed is printed first; set
 * EBAK_CHURN_SEED to replay one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { churnBackups } from './churn.js';
import { newRepo } from './harness.js';

const seconds = Number(process.env.EBAK_SOAK_SECONDS ?? 300);
const seed = Number(process.env.EBAK_CHURN_SEED ?? Math.floor(Math.random() * 2 ** 31));
console.log(`churn soak: seed ${seed}, ${seconds} s (replay: EBAK_CHURN_SEED=${seed} scripts/soak-churn.sh)`);
const dir = await mkdtemp(join(tmpdir(), 'ebak-soak-'));
try {
  const { env } = await newRepo(dir);
  const r = await churnBackups({ dir, env, seed, until: Date.now() + seconds * 1000, log: (s) => console.log(s) });
  const partial = r.exits.filter((c) => c === 3).length;
  console.log(`ok: ${r.snapshots.length} backups (${partial} with exit 3), ${r.ops} changes to the tree, every snapshot restored and verified, check --read-data passed`);
} catch (e) {
  console.error(`FAILED (seed ${seed}): ${(e as Error).message}`);
  process.exitCode = 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
