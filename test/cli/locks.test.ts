/**
 * Locks through the CLI: backup, restore and check hold a shared lock while
 * they run (so they run beside each other, and not beside a deleting
 * operation); key remove takes an exclusive one; and key remove refuses the
 * key the command itself opened the repository with.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { LockMode } from '../../src/repository/api.js';
import { Repository } from '../../src/repository/repository.js';
import { openBackend } from '../../src/storage/open.js';
import { ebak, errorLines, jsonError, newRepo, repoFiles, startEbak, tempDir } from './harness.js';

/** A repository with one snapshot of `mib` MiB of random data. */
async function repoWithSnapshot(mib: number): Promise<{ dir: string; env: Record<string, string> }> {
  const dir = await tempDir('ebak-locks-');
  const { env } = await newRepo(dir);
  const src = join(dir, 'src');
  await mkdir(src);
  for (let i = 0; i < mib; i++) await writeFile(join(src, `f${i}`), randomBytes(1 << 20));
  const b = await ebak(['backup', src], env);
  assert.equal(b.code, 0, b.stderr);
  return { dir, env };
}

/** Runs `fn` while this process holds a lock on the repository (as another ebak would). */
async function whileLocked<T>(env: Record<string, string>, mode: LockMode, fn: () => Promise<T>): Promise<T> {
  const backend = await openBackend(env.EBAK_REPOSITORY!, {});
  try {
    const repo = await Repository.open(backend, { password: env.EBAK_PASSWORD! });
    const lock = await repo.lock(mode, () => undefined);
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  } finally {
    await backend.close();
  }
}

/** Runs the CLI and reports whether a lock object existed in locks/ at some point while it ran. */
async function lockSeenDuring(args: string[], env: Record<string, string>): Promise<{ code: number; seen: boolean; stderr: string }> {
  const run = startEbak(args, env);
  let exited = false;
  void run.done.then(() => (exited = true));
  let seen = false;
  while (!exited && !seen) {
    seen = (await repoFiles(env.EBAK_REPOSITORY!, 'locks')).length > 0;
    await new Promise((r) => setTimeout(r, 2));
  }
  const r = await run.done;
  return { code: r.code, seen, stderr: r.stderr };
}

describe('commands that read take a shared lock', () => {
  it('restore and check hold a lock while they run, and release it', async () => {
    const { dir, env } = await repoWithSnapshot(48);
    for (const args of [['restore', 'latest', '--target', join(dir, 'out')], ['check', '--read-data']]) {
      const r = await lockSeenDuring(args, env);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.seen, `${args[0]} held a lock object in locks/ while it ran`);
      assert.deepEqual(await readdir(join(env.EBAK_REPOSITORY!, 'locks')), [], `${args[0]} released its lock`);
    }
  });

  it('they run beside a shared lock, and refuse an exclusive one with exit 11', async () => {
    const { dir, env } = await repoWithSnapshot(1);
    await whileLocked(env, 'shared', async () => {
      for (const args of [['restore', 'latest', '--target', join(dir, 'shared-out')], ['check']]) {
        const r = await ebak(args, env);
        assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
      }
    });
    await whileLocked(env, 'exclusive', async () => {
      for (const args of [['restore', 'latest', '--target', join(dir, 'excl-out')], ['check'], ['backup', join(dir, 'src')]]) {
        const r = await ebak([...args, '--json'], env);
        assert.equal(r.code, 11, `${args[0]}: ${r.stderr}`);
        assert.equal(jsonError(r).code, 'LOCKED');
      }
    });
  });
});

describe('key remove', () => {
  it('takes an exclusive lock: refused with exit 11 while another process holds any lock', async () => {
    const { env } = await repoWithSnapshot(1);
    const rk = (JSON.parse((await ebak(['key', 'list', '--json'], env)).stdout) as { id: string; kind: string }[]).find((k) => k.kind === 'recovery')!;
    await whileLocked(env, 'shared', async () => {
      const r = await ebak(['key', 'remove', rk.id.slice(0, 8), '--json'], env);
      assert.equal(r.code, 11, r.stderr);
      assert.equal(jsonError(r).code, 'LOCKED');
    });
    assert.equal((await repoFiles(env.EBAK_REPOSITORY!, 'keys')).length, 2, 'nothing was removed');
    assert.equal((await ebak(['key', 'remove', rk.id.slice(0, 8)], env)).code, 0, 'unlocked: it runs');
    assert.equal((await repoFiles(env.EBAK_REPOSITORY!, 'keys')).length, 1);
  });

  it('refuses the key the command opened the repository with (usage error with a hint)', async () => {
    const dir = await tempDir('ebak-locks-');
    const { env } = await newRepo(dir);
    const keys = JSON.parse((await ebak(['key', 'list', '--json'], env)).stdout) as { id: string; kind: string }[];
    const inUse = keys.find((k) => k.kind === 'password')!;
    const r = await ebak(['key', 'remove', inUse.id.slice(0, 8)], env);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^hint: /m);
    const j = await ebak(['key', 'remove', inUse.id.slice(0, 8), '--json'], env);
    assert.equal(jsonError(j).code, 'USAGE');
    assert.equal((await repoFiles(env.EBAK_REPOSITORY!, 'keys')).length, keys.length, 'nothing was removed');
    assert.equal((await ebak(['snapshots'], env)).code, 0, 'the password still opens the repository');
    assert.deepEqual(await readdir(join(env.EBAK_REPOSITORY!, 'locks')), [], 'the refused removal released its lock');
  });
});

describe('--retry-lock (restic\'s)', () => {
  it('waits while a conflicting lock is held and runs once it is released; gives up with exit 11 after the duration; a bad duration is a usage error', async () => {
    const { env } = await repoWithSnapshot(1);
    const started = Date.now();
    const waited = await whileLocked(env, 'exclusive', async () => {
      const run = startEbak(['check', '--retry-lock', '30s'], env);
      await new Promise((r) => setTimeout(r, 2500));
      return run;
    }).then((run) => run.done);
    assert.equal(waited.code, 0, waited.stderr);
    assert.ok(Date.now() - started >= 2500, 'check ran only after the lock was released');

    const t0 = Date.now();
    const gaveUp = await whileLocked(env, 'exclusive', () => ebak(['check', '--retry-lock', '2s', '--json'], env));
    assert.equal(gaveUp.code, 11, gaveUp.stderr);
    assert.equal(jsonError(gaveUp).code, 'LOCKED');
    assert.ok(Date.now() - t0 >= 2000, `gave up after ${Date.now() - t0} ms, before the 2 s`);

    const bad = await ebak(['check', '--retry-lock', 'soon', '--json'], env);
    assert.equal(bad.code, 1);
    assert.equal(jsonError(bad).code, 'USAGE');
  });
});

describe('--no-lock (restic\'s)', () => {
  it('reading commands run without writing a lock, even beside an exclusive one; a command that writes refuses it', async () => {
    const { dir, env } = await repoWithSnapshot(8);
    for (const args of [['restore', 'latest', '--target', join(dir, 'out')], ['check', '--read-data'], ['snapshots'], ['ls', 'latest']]) {
      const r = await lockSeenDuring([...args, '--no-lock'], env);
      assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
      assert.equal(r.seen, false, `${args[0]} --no-lock wrote a lock object`);
    }
    await whileLocked(env, 'exclusive', async () => {
      const r = await ebak(['check', '--no-lock'], env);
      assert.equal(r.code, 0, r.stderr);
    });
    for (const args of [['backup', join(dir, 'src')], ['forget', '--keep-last', '1'], ['prune']]) {
      const r = await ebak([...args, '--no-lock', '--json'], env);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.equal(jsonError(r).code, 'USAGE');
    }
    assert.equal((await repoFiles(env.EBAK_REPOSITORY!, 'snapshots')).length, 1, 'nothing was written or removed');
  });
});
