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
import {
  assertFailed, copyTree, ebak, fileDigests, flipBit, jsonError, newRepo, packKind, repoFiles, tempDir, type RunResult,
} from './harness.js';

interface Fixture {
  dir: string;
  /** The pristine repository; each case works on its own copy. */
  pristine: string;
  recoveryFile: string;
  /** Digests of the source as the latest snapshot holds it (relative to the restore target). */
  expected: Map<string, string>;
  lsLatest: string;
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
  const got = await fileDigests(out).catch(() => new Map<string, string>());
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
  assert.equal((await ebak(['backup', src], env)).code, 0);
  await writeFile(join(src, 'small.txt'), 'changed small file\n');
  assert.equal((await ebak(['backup', src], env)).code, 0);
  const recoveryFile = join(dir, 'recovery');
  await writeFile(recoveryFile, recoveryKey);
  const ls = await ebak(['ls', 'latest'], env);
  assert.equal(ls.code, 0, ls.stderr);
  fx = { dir, pristine: env.EBAK_REPOSITORY, recoveryFile, expected: await fileDigests(dir, 'src'), lsLatest: ls.stdout };
  // fileDigests keys are relative to `dir`; the restore puts the tree under <target>/src.
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

    it(`in an index file (${where}): check, ls and restore name it`, async () => {
      const { repo, env, out } = await copy();
      const index = (await repoFiles(repo, 'index'))[0]!;
      const [, at] = positions((await stat(index)).size).find(([w]) => w === where)!;
      await flipBit(index, at);
      const name = `index/${id(index)}`;
      assertFailed(await ebak(['check'], env), 1, name);
      assertFailed(await ebak(['ls', 'latest'], env), 1, name);
      const r = await ebak(['restore', 'latest', '--target', out], env);
      assertFailed(r, 1, name);
      await assertRestoreHonest(r, out, name);
      assert.equal(jsonError(await ebak(['ls', 'latest', '--json'], env)).code, 'AUTH_FAILED');
    });

    it(`in a snapshot (${where}): snapshots, ls, restore and check name it`, async () => {
      const { repo, env, out } = await copy();
      const snap = (await repoFiles(repo, 'snapshots'))[0]!;
      const [, at] = positions((await stat(snap)).size).find(([w]) => w === where)!;
      await flipBit(snap, at);
      const name = `snapshots/${id(snap)}`;
      for (const args of [['snapshots'], ['ls', 'latest'], ['restore', 'latest', '--target', out], ['check']]) assertFailed(await ebak(args, env), 1, name);
      assert.equal(jsonError(await ebak(['snapshots', '--json'], env)).code, 'AUTH_FAILED');
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
    assertFailed(r, 1, name);
    assert.match(r.stderr, /authentication failed/);
    assertFailed(await ebak(['check'], env), 1, name);
  });

  it('an index file fails authentication under its new name', async () => {
    const { repo, env } = await copy();
    const name = `index/${await alterAndRename((await repoFiles(repo, 'index'))[0]!)}`;
    const r = await ebak(['ls', 'latest'], env);
    assertFailed(r, 1, name);
    assert.match(r.stderr, /authentication failed/);
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
  for (const args of [['snapshots'], ['ls', id(s1!)], ['restore', id(s1!), '--target', out], ['check']]) assertFailed(await ebak(args, env), 1, name);
});
