/**
 * kill -9 during a restore and during a key change (issue #14, "crash
 * points during restore, key add"). A restore killed once some of its files
 * are written, at several points, is rerun into the same target and leaves
 * it identical to the source (`--verify` reads every file back). A `key add`
 * or `key passwd` killed just before or after each of its writes and
 * deletes in storage (key-killer.ts) leaves a repository the old password
 * still opens, or (once the new key is stored) the new one, with its
 * snapshot; rerun, the command finishes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { Repository } from '../../src/repository/repository.js';
import { LocalBackend } from '../../src/storage/local.js';
import { ebak, fileDigests, newRepo, ROOT, startEbak, tempDir } from './harness.js';
import { runKiller, type When } from './kill-points.js';

const KILLER = join(ROOT, 'dist/test/cli/key-killer.js');

/** Regular files below `dir` (none when it does not exist yet). */
async function countFiles(dir: string): Promise<number> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

/** The snapshots the password opens the repository to; undefined when it opens nothing. */
async function opensWith(location: string, password: string): Promise<string[] | undefined> {
  const backend = new LocalBackend(location);
  try {
    return await (await Repository.open(backend, { password })).listSnapshots();
  } catch {
    return undefined;
  } finally {
    await backend.close();
  }
}

describe('kill -9 during restore and key changes', { timeout: 600_000 }, () => {
  it('a restore killed part-way, rerun into the same target, leaves it identical', async () => {
    const dir = await tempDir('ebak-crash-restore-');
    const { env } = await newRepo(dir);
    const src = join(dir, 'src');
    await mkdir(join(src, 'sub'), { recursive: true });
    for (let i = 0; i < 48; i++) await writeFile(join(src, i % 2 ? 'sub' : '', `f${i}`), randomBytes(1 << 20));
    assert.equal((await ebak(['backup', src], env)).code, 0);
    const want = await fileDigests(src);
    let killed = 0;
    for (const after of [1, 12, 36]) {
      const target = join(dir, `t${after}`);
      const { child, done } = startEbak(['restore', 'latest', '--target', target], env);
      let exited = false;
      void done.then(() => (exited = true));
      while (!exited && (await countFiles(target)) < after) await sleep(2);
      child.kill('SIGKILL');
      const first = await done;
      assert.ok(first.code === 0 || child.signalCode === 'SIGKILL', `the restore failed on its own: ${first.stderr}`);
      if (child.signalCode === 'SIGKILL') killed++;
      const again = await ebak(['restore', 'latest', '--target', target, '--verify'], env);
      assert.equal(again.code, 0, `killed after ${after} file(s), the rerun: ${again.stderr}`);
      assert.deepEqual(await fileDigests(join(target, src)), want, `killed after ${after} file(s): the target is the source`);
    }
    assert.ok(killed >= 2, `${killed} of 3 restores were killed before they finished`);
  });

  for (const change of ['add', 'passwd'] as const) {
    it(`key ${change} killed before or after each of its writes and deletes leaves a repository a password opens`, async () => {
      const dir = await tempDir(`ebak-crash-key-${change}-`);
      const { env } = await newRepo(dir, 'old password');
      const src = join(dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'f'), 'kept');
      assert.equal((await ebak(['backup', src], env)).code, 0);
      const template = env.EBAK_REPOSITORY!;
      const snapshots = await opensWith(template, 'old password');
      const work = join(dir, 'work');
      const kill = async (k: number, when: When) => {
        await rm(work, { recursive: true, force: true });
        await cp(template, work, { recursive: true });
        return runKiller(KILLER, [work, change, 'old password', 'new password', String(k), when]);
      };
      const mutations = Number((await kill(0, 'before')).stdout.trim());
      assert.ok(mutations >= (change === 'add' ? 1 : 3), `${mutations} writes and deletes`);
      for (let k = 1; k <= mutations; k++) {
        for (const when of ['before', 'after'] as const) {
          const at = `key ${change} killed ${when} write/delete ${k} of ${mutations}`;
          assert.ok((await kill(k, when)).killed, `${at}: it was killed`);
          const old = await opensWith(work, 'old password');
          const fresh = await opensWith(work, 'new password');
          assert.ok(old || fresh, `${at}: a password still opens the repository`);
          if (change === 'add') assert.deepEqual(old, snapshots, `${at}: the old password opens it`);
          for (const seen of [old, fresh]) if (seen) assert.deepEqual(seen, snapshots, `${at}: the snapshot is there`);
          const rerun = change === 'add' || !fresh ? ['key', change] : undefined;
          if (rerun) {
            const r = await ebak([...rerun, '--new-password-file', await secretFile(dir, 'new password')], { ...env, EBAK_REPOSITORY: work, EBAK_PASSWORD: old ? 'old password' : 'new password' });
            assert.equal(r.code, 0, `${at}: the rerun: ${r.stderr}`);
          }
          assert.deepEqual(await opensWith(work, 'new password'), snapshots, `${at}: after the rerun the new password opens it`);
        }
      }
    });
  }
});

async function secretFile(dir: string, secret: string): Promise<string> {
  const f = join(dir, 'new-password');
  await writeFile(f, `${secret}\n`, { mode: 0o600 });
  return f;
}
