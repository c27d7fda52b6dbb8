/**
 * Ctrl-C through the real CLI (restic's behaviour, #17): SIGINT during a
 * backup stops it cleanly with exit 130 and removes its lock; a second
 * SIGINT stops at once, and still removes the lock; the repository checks
 * clean and takes the next backup without a stale-lock warning. SIGINT or
 * SIGTERM during start-up, before the operation begins, exits 130 too.
 */
import assert from 'node:assert/strict';
import { mkdir, open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ebak, newRepo, repoFiles, startEbak, tempDir } from './harness.js';

/** A source that takes minutes to read: one large sparse file (its holes read as zeros). */
async function slowSource(dir: string): Promise<string> {
  const src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'small.txt'), 'small');
  const f = await open(join(src, 'big.img'), 'w');
  await f.truncate(64 * 2 ** 30);
  await f.close();
  return src;
}

/** Waits until the running command holds a lock. */
async function lockHeld(repo: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await repoFiles(repo, 'locks')).length > 0) return;
    await sleep(50);
  }
  assert.fail('the backup never took its lock');
}

/** Waits until `path` exists. */
async function appears(path: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await stat(path).then(() => true, () => false)) return;
    await sleep(50);
  }
  assert.fail(`${path} never appeared`);
}

describe('Ctrl-C', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during start-up (the password still being read): exit 130 at once, no lock left`, async () => {
      const dir = await tempDir('ebak-startup-');
      const { env } = await newRepo(dir);
      const asked = join(dir, 'asked');
      const run = startEbak(['backup', dir], { ...env, EBAK_PASSWORD_COMMAND: `touch '${asked}'; sleep 20; echo never` });
      await appears(asked);
      const t0 = Date.now();
      run.child.kill(signal);
      const r = await run.done;
      assert.equal(r.code, 130, r.stderr);
      assert.ok(Date.now() - t0 < 10_000, `exited ${Date.now() - t0} ms after the signal`);
      assert.deepEqual(await repoFiles(env.EBAK_REPOSITORY!, 'locks'), []);
    });
  }

  for (const presses of [1, 2]) {
    it(`${presses === 1 ? 'one SIGINT stops a backup cleanly' : 'a second SIGINT stops at once'}: exit 130, no lock left`, async () => {
      const dir = await tempDir('ebak-sigint-');
      const { env } = await newRepo(dir);
      const src = await slowSource(dir);
      const run = startEbak(['backup', src], env);
      await lockHeld(env.EBAK_REPOSITORY!);
      await sleep(500);
      for (let i = 0; i < presses; i++) {
        run.child.kill('SIGINT');
        await sleep(100);
      }
      const r = await run.done;
      // A second press that lands while a cleanly stopped process is already exiting meets Node's teardown,
      // which gives the signal its default action: still a stop, and the lock is already gone.
      const stoppedCleanlyFirst = presses === 2 && r.code === -1 && r.stderr.includes('interrupted: stopped cleanly');
      if (!stoppedCleanlyFirst) assert.equal(r.code, 130, r.stderr);
      assert.deepEqual(await repoFiles(env.EBAK_REPOSITORY!, 'locks'), [], 'the lock is removed');
      const check = await ebak(['check'], env);
      assert.equal(check.code, 0, check.stderr);
      await writeFile(join(src, 'big.img'), 'now small');
      const next = await ebak(['backup', src], env);
      assert.equal(next.code, 0, next.stderr);
      assert.ok(!next.stderr.includes('stale lock'), next.stderr);
    });
  }

  it('after kill -9 the next backup warns once about the stale lock and succeeds', async () => {
    const dir = await tempDir('ebak-sigkill-');
    const { env } = await newRepo(dir);
    const src = await slowSource(dir);
    const run = startEbak(['backup', src], env);
    await lockHeld(env.EBAK_REPOSITORY!);
    run.child.kill('SIGKILL');
    await run.done;
    await writeFile(join(src, 'big.img'), 'now small');
    const next = await ebak(['backup', src], env);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.stderr.split('\n').filter((l) => l.includes('stale lock')).length, 1, next.stderr);
  });
});
