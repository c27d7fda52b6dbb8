/**
 * The plan's run lock through the real CLI (#18, "never two runs of one
 * plan at once", across processes): `plan run --drill` while another
 * process (the daemon, played here by this test holding the lock file as a
 * live process of this host) runs the plan's backup waits until that run
 * ends, then drills; the lock is gone afterwards; a lock left by a process
 * that no longer exists is stale and taken over at once.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ebak, newRepo, startEbak, tempDir } from './harness.js';

const dir = await tempDir('ebak-plans-runlock-');
const repo = (await newRepo(join(dir, 'main'), 'lock pw')).env.EBAK_REPOSITORY;
await writeFile(join(dir, 'pw'), 'lock pw\n');
const src = join(dir, 'src');
await mkdir(src);
await writeFile(join(src, 'a.txt'), 'locked plan\n');
const config = join(dir, 'config');
const env = { EBAK_CONFIG_DIR: config };
const plans = join(dir, 'plans.yaml');
await writeFile(plans, ['plans:', '  - name: nightly', `    repository: ${repo}`, `    password_file: ${join(dir, 'pw')}`, `    sources: [${src}]`, '    schedule: "@daily"', '    restore_test: { schedule: "@weekly" }', ''].join('\n'));
const lockFile = join(config, 'plan-locks', 'nightly.lock');
const holdLock = async (pid: number) => {
  await mkdir(join(config, 'plan-locks'), { recursive: true });
  await writeFile(lockFile, JSON.stringify({ pid, host: hostname(), job: 'backup', started: new Date().toISOString() }));
};

describe('the plan run lock', { concurrency: false }, () => {
  it('plan run --drill waits for the plan\'s running backup in another process, then drills', async () => {
    assert.equal((await ebak(['plan', 'run', 'nightly', '--plans', plans], env)).code, 0);
    await holdLock(process.pid);
    const d = startEbak(['plan', 'run', 'nightly', '--drill', '--plans', plans, '--json'], env);
    let exited = false;
    void d.done.then(() => (exited = true));
    await sleep(2000);
    assert.equal(exited, false, 'the drill waits while the backup holds the lock');
    const released = Date.now();
    await rm(lockFile);
    const r = await d.done;
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout) as { ok: boolean; started: string; drill?: { verified: boolean } };
    assert.ok(rec.ok && rec.drill?.verified, r.stdout);
    assert.ok(Date.parse(rec.started) >= released - 1000, `the drill started at ${rec.started}, the lock was released at ${new Date(released).toISOString()}`);
    assert.ok(!existsSync(lockFile), 'the drill released its lock');
  });

  it('a lock whose holder no longer exists is taken over at once', async () => {
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    await holdLock(gone);
    const started = Date.now();
    const r = await ebak(['plan', 'run', 'nightly', '--plans', plans], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(Date.now() - started < 60_000);
    assert.ok(!existsSync(lockFile));
  });
});
