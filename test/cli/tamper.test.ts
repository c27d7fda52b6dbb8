/**
 * "Nothing is trusted before authentication", through the CLI: one flipped
 * bit in any stored object (start, middle, end), a truncated, deleted,
 * renamed or swapped object is found by `check` and makes every command that
 * reads it fail with one line naming it; a restore is never silently wrong
 * (each restored file is byte-identical to the source, or absent with an error).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { before, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/index.js';
import { assertFailed, backupSummary, copyTree, ebak, fileDigests, flipBit, jsonError, newRepo, packKind, repoFiles, tempDir, type RunResult } from './harness.js';

interface Fixture {
  dir: string;
  /** The pristine repository; each case works on its own copy. */
  pristine: string;
  recoveryFile: string;
  /** Digests of the source as the latest snapshot holds it (relative to the restore target). */
  expected: Map<string, string>;
  lsLatest: string;
  /** The first snapshot (older), and the id of the second (newest). */
  expectedOlder: Map<string, string>;
  lsOlder: string;
  latestId: string;
}

let fx: Fixture;
let caseNo = 0;
// Created at module level: a tempDir made inside before() would be removed when that hook ends.
const workDir = await tempDir('ebak-tamper-');

/** A fresh copy of the pristine repository and the env that opens it with the recovery key (no Argon2: fast). */
async function copy(): Promise<{ repo: string; env: Record<string, string>; pwEnv: Record<string, string>; out: string }> {
  const n = ++caseNo;
  const repo = join(fx.dir, `case${n}`);
  await copyTree(fx.pristine, repo);
  return {
    repo,
    env: { EBAK_REPOSITORY: repo, EBAK_RECOVERY_KEY_FILE: fx.recoveryFile },
    pwEnv: { EBAK_REPOSITORY: repo, EBAK_PASSWORD: 'correct horse' },
    out: join(fx.dir, `out${n}`),
  };
}

const id = (path: string) => basename(path);
const positions = (size: number) => [['start', 0], ['middle', Math.floor(size / 2)], ['end', size - 1]] as const;

async function packs(repo: string, kind: number): Promise<string[]> {
  const out = [];
  for (const p of await repoFiles(repo, 'data')) if ((await packKind(p)) === kind) out.push(p);
  return out;
}

async function largest(paths: string[]): Promise<string> {
  const sizes = await Promise.all(paths.map(async (p) => (await stat(p)).size));
  return paths[sizes.indexOf(Math.max(...sizes))]!;
}

/**
 * A restore is either complete and byte-identical, or reports the damaged
 * object; whatever files it left are byte-identical to the source.
 */
async function assertRestoreHonest(r: RunResult, out: string, names: string): Promise<void> {
  const got = await fileDigests(join(out, fx.dir)).catch(() => new Map<string, string>());
  for (const [p, h] of got) assert.equal(h, fx.expected.get(p), `${p} was restored with wrong content; ${r.stderr}`);
  if (r.code === 0) assert.deepEqual(got, fx.expected, 'a clean exit means a complete restore');
  else assert.ok(r.stderr.includes(names), `the restore error should name ${names}: ${r.stderr}`);
}

before(async () => {
  const dir = workDir;
  const src = join(dir, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'big.bin'), randomBytes(3 << 20));
  await writeFile(join(src, 'small.txt'), 'small file\n');
  await writeFile(join(src, 'sub', 'inner.txt'), 'inner\n');
  const { env, recoveryKey } = await newRepo(dir);
  assert.equal((await ebak(['backup', src, '--time', '2026-01-01T00:00:00Z'], env)).code, 0);
  const expectedOlder = await fileDigests(dir, 'src');
  const lsOlder = (await ebak(['ls', 'latest'], env)).stdout;
  await writeFile(join(src, 'small.txt'), 'changed small file\n');
  const second = await ebak(['backup', src, '--json'], env);
  assert.equal(second.code, 0);
  const recoveryFile = join(dir, 'recovery');
  await writeFile(recoveryFile, recoveryKey);
  const ls = await ebak(['ls', 'latest'], env);
  assert.equal(ls.code, 0, ls.stderr);
  const latestId = (backupSummary(second) as { snapshot_id: string }).snapshot_id;
  fx = { dir, pristine: env.EBAK_REPOSITORY, recoveryFile, expected: await fileDigests(dir, 'src'), lsLatest: ls.stdout, expectedOlder, lsOlder, latestId };
  // fileDigests keys are relative to `dir`; the restore puts the tree under <target><dir>/src (full paths).
  assert.equal(fx.expected.size, 3);
});

describe('one flipped bit', () => {
  for (const where of ['start', 'middle', 'end'] as const) {
    it(`in a data pack (${where}): check --read-data names it, restore is never wrong`, async () => {
      const { repo, env, out } = await copy();
      const pack = await largest(await packs(repo, 0));
      const [, at] = positions((await stat(pack)).size).find(([w]) => w === where)!;
      await flipBit(pack, at);
      const c = await ebak(['check', '--read-data'], env);
      assertFailed(c, 1, `data/${id(pack)}`);
      assert.equal(jsonError(await ebak(['check', '--read-data', '--json'], env)).code, 'CORRUPT');
      const r = await ebak(['restore', 'latest', '--target', out], env);
      await assertRestoreHonest(r, out, `data/${id(pack)}`);
      if (where === 'middle') assert.notEqual(r.code, 0, 'the middle of the big pack lies in big.bin\'s data');
    });

    it(`in a tree pack (${where}): check names it, ls and restore fail on it or are correct`, async () => {
      const { repo, env, out } = await copy();
      const pack = (await packs(repo, 1))[0]!;
      const [, at] = positions((await stat(pack)).size).find(([w]) => w === where)!;
      await flipBit(pack, at);
      assertFailed(await ebak(['check', '--read-data'], env), 1, `data/${id(pack)}`);
      // Without --read-data, check reads every tree blob (not pack prefixes or headers).
      if (where === 'middle') assertFailed(await ebak(['check'], env), 1, `data/${id(pack)}`);
      const ls = await ebak(['ls', 'latest'], env);
      if (ls.code === 0) assert.equal(ls.stdout, fx.lsLatest);
      else assertFailed(ls, 1, `data/${id(pack)}`);
      await assertRestoreHonest(await ebak(['restore', 'latest', '--target', out], env), out, `data/${id(pack)}`);
    });

    it(`in an index file (${where}): check names it; ls, restore and backup read around it; repair index fixes it`, async () => {
      const { repo, env, out } = await copy();
      const index = (await repoFiles(repo, 'index'))[0]!;
      const [, at] = positions((await stat(index)).size).find(([w]) => w === where)!;
      await flipBit(index, at);
      const name = `index/${id(index)}`;
      assertFailed(await ebak(['check'], env), 1, name);
      const ls = await ebak(['ls', 'latest'], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.equal(ls.stdout, fx.lsLatest);
      assert.ok(ls.stderr.includes(name) && ls.stderr.includes('repair index'), ls.stderr);
      const r = await ebak(['restore', 'latest', '--target', out], env);
      assert.equal(r.code, 0, r.stderr);
      await assertRestoreHonest(r, out, name);
      assert.equal((await ebak(['backup', join(fx.dir, 'src')], env)).code, 0, 'a backup is not blocked by one bad index');
      const repair = await ebak(['repair', 'index', '--json'], env);
      assert.equal(repair.code, 0, repair.stderr);
      assert.deepEqual((JSON.parse(repair.stdout) as { removed: string[] }).removed, [id(index)]);
      const clean = await ebak(['check', '--read-data'], env);
      assert.equal(clean.code, 0, clean.stderr + clean.stdout);
      assert.ok(!clean.stderr.includes('not in any readable index'), clean.stderr);
    });

    it(`in a snapshot (${where}): check names it; snapshots lists the others (exit 3); "latest" skips it with a warning`, async () => {
      const { repo, env, out } = await copy();
      const snap = (await repoFiles(repo, 'snapshots'))[0]!;
      const [, at] = positions((await stat(snap)).size).find(([w]) => w === where)!;
      await flipBit(snap, at);
      const name = `snapshots/${id(snap)}`;
      assertFailed(await ebak(['check'], env), 1, name);
      const list = await ebak(['snapshots'], env);
      assert.equal(list.code, 3, list.stderr);
      assert.ok(list.stderr.includes(name) && list.stdout.includes('1 snapshot'), list.stdout + list.stderr);
      const newest = id(snap) === fx.latestId;
      const ls = await ebak(['ls', 'latest'], env);
      assert.equal(ls.code, 0, ls.stderr);
      assert.equal(ls.stdout, newest ? fx.lsOlder : fx.lsLatest);
      assert.ok(ls.stderr.includes(name), ls.stderr);
      const r = await ebak(['restore', 'latest', '--target', out], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await fileDigests(join(out, fx.dir)), newest ? fx.expectedOlder : fx.expected);
    });

    it(`in the password key file (${where}): the password no longer opens and names it; check names it`, async () => {
      const { repo, env, pwEnv } = await copy();
      let key = '';
      for (const k of await repoFiles(repo, 'keys')) if (JSON.parse(await readFile(k, 'utf8')).kind === 'password') key = k;
      const [, at] = positions((await stat(key)).size).find(([w]) => w === where)!;
      await flipBit(key, at);
      const name = `keys/${id(key)}`;
      const s = await ebak(['snapshots'], pwEnv);
      assertFailed(s, 1, name);
      assert.equal(jsonError(await ebak(['snapshots', '--json'], pwEnv)).code, 'AUTH_FAILED');
      // The recovery key still opens; check reports the damaged envelope.
      assert.equal((await ebak(['snapshots'], env)).code, 0);
      assertFailed(await ebak(['check'], env), 1, name);
    });

    it(`in the config (${where}): every command names it`, async () => {
      const { repo, env, out } = await copy();
      const config = join(repo, 'config');
      const [, at] = positions((await stat(config)).size).find(([w]) => w === where)!;
      await flipBit(config, at);
      for (const args of [['snapshots'], ['ls', 'latest'], ['restore', 'latest', '--target', out], ['check'], ['backup', join(fx.dir, 'src')]])
        assertFailed(await ebak(args, env), 1, 'config');
      assert.equal(jsonError(await ebak(['check', '--json'], env)).code, 'AUTH_FAILED');
    });
  }
});

describe('altered and renamed to match (storage recomputes the SHA-256 name)', () => {
  /** Flips a bit in the middle and renames the object to the SHA-256 of its new bytes. */
  async function alterAndRename(path: string): Promise<string> {
    const b = await readFile(path);
    b[b.length >> 1]! ^= 1;
    const name = sha256(b).toString('hex');
    await writeFile(join(path, '..', name), b);
    await rm(path);
    return name;
  }

  it('a snapshot fails authentication under its new name', async () => {
    const { repo, env } = await copy();
    const name = `snapshots/${await alterAndRename((await repoFiles(repo, 'snapshots'))[0]!)}`;
    const r = await ebak(['snapshots'], env);
    assert.ok(r.code === 3 && r.stderr.includes(name), r.stderr);
    assert.match(r.stderr, /authentication failed/);
    assertFailed(await ebak(['check'], env), 1, name);
  });

  it('an index file fails authentication under its new name (check fails; ls reads around it and names it)', async () => {
    const { repo, env } = await copy();
    const name = `index/${await alterAndRename((await repoFiles(repo, 'index'))[0]!)}`;
    assertFailed(await ebak(['check'], env), 1, name);
    const r = await ebak(['ls', 'latest'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stderr.includes(name) && /authentication failed/.test(r.stderr), r.stderr);
  });
});

describe('damaged packs', () => {
  it('a truncated pack: check (even without --read-data) and restore name it', async () => {
    const { repo, env, out } = await copy();
    const pack = await largest(await packs(repo, 0));
    await truncate(pack, (await stat(pack)).size >> 1);
    assertFailed(await ebak(['check'], env), 1, `data/${id(pack)}`);
    assertFailed(await ebak(['check', '--read-data'], env), 1, `data/${id(pack)}`);
    const r = await ebak(['restore', 'latest', '--target', out], env);
    assert.notEqual(r.code, 0);
    await assertRestoreHonest(r, out, `data/${id(pack)}`);
  });

  it('a deleted pack: check says it is missing, restore names it', async () => {
    const { repo, env, out } = await copy();
    const pack = await largest(await packs(repo, 0));
    await rm(pack);
    const c = await ebak(['check'], env);
    assertFailed(c, 1, `data/${id(pack)}`);
    assert.match(c.stderr, /missing/);
    const r = await ebak(['restore', 'latest', '--target', out], env);
    assert.notEqual(r.code, 0);
    await assertRestoreHonest(r, out, `data/${id(pack)}`);
  });

  it('a pack renamed to another id: check says the old one is missing and the new one does not match its name', async () => {
    const { repo, env, out } = await copy();
    const pack = await largest(await packs(repo, 0));
    const other = randomBytes(32).toString('hex');
    await rename(pack, join(repo, 'data', other.slice(0, 2), other));
    const c = await ebak(['check', '--read-data'], env);
    assertFailed(c, 1, `data/${id(pack)}`);
    assert.match(c.stdout, new RegExp(`data/${other}: content does not match its name`));
    await assertRestoreHonest(await ebak(['restore', 'latest', '--target', out], env), out, `data/${id(pack)}`);
  });

  it('a data pack and a tree pack swapped under each other\'s names: detected, restore never wrong', async () => {
    const { repo, env, out } = await copy();
    const data = await largest(await packs(repo, 0));
    const tree = (await packs(repo, 1))[0]!;
    const [a, b] = [await readFile(data), await readFile(tree)];
    await writeFile(data, b);
    await writeFile(tree, a);
    assertFailed(await ebak(['check', '--read-data'], env), 1, 'data/');
    // Either pack may be reported first (index order follows random pack ids); one of them must be.
    const plain = await ebak(['check'], env);
    assertFailed(plain, 1, 'data/');
    assert.ok([id(tree), id(data)].some((p) => plain.stderr.includes(`data/${p}`)), plain.stderr);
    await assertRestoreHonest(await ebak(['restore', 'latest', '--target', out], env), out, 'data/');
  });
});

it('a snapshot file holding another snapshot\'s bytes is refused by name', async () => {
  const { repo, env, out } = await copy();
  const [s1, s2] = await repoFiles(repo, 'snapshots');
  await writeFile(s1!, await readFile(s2!));
  const name = `snapshots/${id(s1!)}`;
  for (const args of [['ls', id(s1!)], ['restore', id(s1!), '--target', out], ['check']]) assertFailed(await ebak(args, env), 1, name);
  const list = await ebak(['snapshots'], env);
  assert.ok(list.code === 3 && list.stderr.includes(name), list.stderr);
});
