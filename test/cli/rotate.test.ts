/**
 * `ebak key rotate-master` through the real CLI (docs/format.md,
 * "Master-key rotation"): init, back up, rotate, back up again. The old key
 * file (copied aside before the rotation) opens nothing written after it:
 * the CLI refuses the repository with it, and no pack or object written
 * since authenticates under the old key's subkeys. The new password
 * restores both snapshots byte-identical and `check --read-data` passes.
 * `--rewrite` then leaves no pack of the old key (read from the pack
 * headers' key source) and the old key opens nothing at all. Key files
 * whose secret was not given are removed and listed; the recovery key is
 * re-wrapped when given.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { parseKeyFile, unwrapKeyFile } from '../../src/repository/format/keyfile.js';
import { openConfig } from '../../src/repository/format/keyring.js';
import { decodeObject, type ObjectTypeName } from '../../src/repository/format/object.js';
import { decodePack, keySourceGeneration, packKeyFor } from '../../src/repository/format/pack.js';
import { deriveSubKeys } from '../../src/repository/rotate-keys.js';
import { assertCode, backupSummary, ebak, fileDigests, newRepo, repoFiles, tempDir } from './harness.js';

interface Rotation {
  dry_run: boolean;
  generation: number;
  key_files: { id: string; kind: string; fate: 'rewrapped' | 'removed' }[];
  removed: string[];
  rewrite?: { snapshots: number; old_keys_dropped: boolean };
}

async function run(args: string[], env: Record<string, string>): Promise<string> {
  const r = await ebak(args, env);
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function backup(env: Record<string, string>, src: string): Promise<string> {
  return (backupSummary({ code: 0, stdout: await run(['backup', src, '--json'], env), stderr: '' }) as { snapshot_id: string }).snapshot_id;
}

/** The master key the password opens in a set of key files (read as an attacker who copied them would). */
async function keyFrom(dir: string, password: string): Promise<Buffer> {
  for (const name of await readdir(dir)) {
    const f = parseKeyFile(await readFile(join(dir, name)), name);
    if (f.kind !== 'password') continue;
    const k = await unwrapKeyFile(f, password, name);
    if (k) return k;
  }
  throw new Error(`no key file in ${dir} opens with the password`);
}

/** Every stored file of a type, by path. */
async function stored(repo: string, type: 'data' | 'index' | 'snapshots'): Promise<string[]> {
  return repoFiles(repo, type);
}

/** Asserts that nothing in `files` authenticates under the subkeys of `masterKey` (as a holder of that key would try). */
async function opensNothing(masterKey: Buffer, files: { pack: string[]; objects: [ObjectTypeName, string][] }, what: string): Promise<void> {
  const k = deriveSubKeys(masterKey);
  for (const p of files.pack) {
    await assert.rejects(decodePack(async (prefix) => packKeyFor(k.pack, prefix.salt), await readFile(p), p), (e) => isEbakError(e, 'AUTH_FAILED'), `${what}: ${p}`);
  }
  for (const [type, p] of files.objects) {
    const bytes = await readFile(p);
    assert.throws(() => decodeObject(k.object, type, bytes, p), (e) => isEbakError(e, 'AUTH_FAILED'), `${what}: ${p}`);
  }
}

async function objectsOf(repo: string, only?: Set<string>): Promise<{ pack: string[]; objects: [ObjectTypeName, string][] }> {
  const keep = (p: string) => !only || only.has(p);
  const objects: [ObjectTypeName, string][] = [
    ...(await stored(repo, 'index')).filter(keep).map((p): [ObjectTypeName, string] => ['index', p]),
    ...(await stored(repo, 'snapshots')).filter(keep).map((p): [ObjectTypeName, string] => ['snapshot', p]),
  ];
  return { pack: (await stored(repo, 'data')).filter(keep), objects };
}

/** The same repository with only the key files of `keysDir` (an old key file put back). */
async function withKeys(dir: string, repo: string, keysDir: string, name: string): Promise<string> {
  const copy = join(dir, name);
  await cp(repo, copy, { recursive: true });
  await rm(join(copy, 'keys'), { recursive: true });
  await cp(keysDir, join(copy, 'keys'), { recursive: true });
  return copy;
}

describe('key rotate-master', () => {
  it('rotates: old key file opens nothing new, new password restores everything; --rewrite leaves nothing of the old key', { timeout: 600_000 }, async () => {
    const dir = await tempDir('ebak-rotate-');
    const { env } = await newRepo(dir);
    const repo = env.EBAK_REPOSITORY!;
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a'), Buffer.alloc(300_000, 7));
    await writeFile(join(src, 'b'), 'first\n');
    const first = await backup(env, src);
    const firstDigests = await fileDigests(src);
    const other = join(dir, 'other-pw');
    await writeFile(other, 'another holder\n');
    await run(['key', 'add', '--new-password-file', other], env);
    await run(['key', 'add', '--write-only', '--new-password-file', other], env);
    const oldKeys = join(dir, 'old-keys');
    await cp(join(repo, 'keys'), oldKeys, { recursive: true });
    const before = new Set([...(await stored(repo, 'data')), ...(await stored(repo, 'index')), ...(await stored(repo, 'snapshots'))]);
    const k1 = await keyFrom(oldKeys, env.EBAK_PASSWORD!);

    const dry = JSON.parse(await run(['key', 'rotate-master', '--dry-run', '--json'], env)) as Rotation;
    assert.equal(dry.dry_run, true);
    assert.deepEqual((await readdir(join(repo, 'keys'))).sort(), (await readdir(oldKeys)).sort(), 'a dry run changes no key file');
    const rot = JSON.parse(await run(['key', 'rotate-master', '--json'], env)) as Rotation;
    assert.equal(rot.generation, 1);
    assert.equal(rot.key_files.length, 4, 'every key file is listed');
    assert.deepEqual(rot.key_files.filter((k) => k.fate === 'rewrapped').map((k) => k.kind), ['password']);
    assert.deepEqual(rot.key_files.filter((k) => k.fate === 'removed').map((k) => k.kind).sort(), ['password', 'recovery', 'write-only']);
    assert.deepEqual(rot.removed.sort(), rot.key_files.map((k) => k.id).sort(), 'the old key files are all gone');
    assert.equal((await readdir(join(repo, 'keys'))).length, 1, 'one key file: the password\'s, wrapping the new key');

    await writeFile(join(src, 'b'), 'second\n');
    await writeFile(join(src, 'c'), Buffer.alloc(200_000, 9));
    const second = await backup(env, src);
    const secondDigests = await fileDigests(src);

    // The old key file, put back, opens nothing written after the rotation.
    const withOld = await withKeys(dir, repo, oldKeys, 'with-old-keys');
    assertCode(await ebak(['snapshots', '--json'], { ...env, EBAK_REPOSITORY: withOld }), 1, 'AUTH_FAILED');
    const written = [...(await stored(repo, 'data')), ...(await stored(repo, 'index')), ...(await stored(repo, 'snapshots'))].filter((p) => !before.has(p));
    const after = await objectsOf(repo, new Set(written));
    assert.ok(after.pack.length > 0 && after.objects.some(([t]) => t === 'snapshot'), 'the second backup wrote packs and a snapshot');
    await opensNothing(k1, after, 'written after the rotation, under the old key');

    // The new password restores both snapshots byte-identical; check --read-data passes.
    await run(['check', '--read-data'], env);
    for (const [id, digests] of [[first, firstDigests], [second, secondDigests]] as const) {
      const out = join(dir, `restore-${id.slice(0, 8)}`);
      await run(['restore', id, '--target', out], env);
      assert.deepEqual(await fileDigests(join(out, src)), digests, `snapshot ${id.slice(0, 8)} restores byte-identical`);
    }

    // --rewrite: every pack under the new key, the old keys dropped; the old key opens nothing at all.
    const rw = JSON.parse(await run(['key', 'rotate-master', '--resume', '--rewrite', '--json'], env)) as Rotation;
    assert.equal(rw.rewrite?.snapshots, 1, 'the snapshot of the old key was sealed again');
    assert.equal(rw.rewrite?.old_keys_dropped, true);
    for (const p of await stored(repo, 'data')) assert.deepEqual(keySourceGeneration((await readFile(p))[5]!), { generation: 1, writeOnly: false }, `${p}: key source of generation 1`);
    const k2 = await keyFrom(join(repo, 'keys'), env.EBAK_PASSWORD!);
    assert.deepEqual(openConfig(k2, await readFile(join(repo, 'config'))).keyring?.old, [], 'the keyring holds no old key');
    await opensNothing(k1, await objectsOf(repo), 'after --rewrite, under the old key');
    assertCode(await ebak(['snapshots', '--json'], { ...env, EBAK_REPOSITORY: await withKeys(dir, repo, oldKeys, 'with-old-keys-2') }), 1, 'AUTH_FAILED');
    await run(['check', '--read-data'], env);
    const snaps = JSON.parse(await run(['snapshots', '--json'], env)) as { id: string; original?: string }[];
    assert.equal(snaps.length, 2);
    for (const s of snaps) {
      const out = join(dir, `rewritten-${s.id.slice(0, 8)}`);
      await run(['restore', s.id, '--target', out], env);
      assert.deepEqual(await fileDigests(join(out, src)), (s.original ?? s.id) === first ? firstDigests : secondDigests, `snapshot ${s.id.slice(0, 8)} restores byte-identical after --rewrite`);
    }
    // A write-only credential of the rotated repository (generation 1: key source 2 + 1) backs up twice, deduplicating; the full key reads it.
    const woPassword = join(dir, 'wo-pw');
    await writeFile(woPassword, 'write-only after the rotation\n');
    await run(['key', 'add', '--write-only', '--new-password-file', woPassword], env);
    const wo = { ...env, EBAK_PASSWORD: 'write-only after the rotation' };
    await writeFile(join(src, 'c'), randomBytes(200_000));
    const woFirst = backupSummary({ code: 0, stdout: await run(['backup', src, '--json'], wo), stderr: '' }) as { snapshot_id: string; data_blobs_added: number };
    const woSecond = backupSummary({ code: 0, stdout: await run(['backup', src, '--json'], wo), stderr: '' }) as { data_blobs_added: number };
    assert.ok(woFirst.data_blobs_added > 0);
    assert.equal(woSecond.data_blobs_added, 0, 'the second write-only backup deduplicates');
    assertCode(await ebak(['snapshots', '--json'], wo), 25, 'WRITE_ONLY');
    const sources = new Set<number>();
    for (const p of await stored(repo, 'data')) if (!before.has(p)) sources.add((await readFile(p))[5]!);
    assert.ok(sources.has(3), `a pack of key source 3 (write-only, generation 1): ${[...sources]}`);
    await run(['check', '--read-data'], env);
    const woOut = join(dir, 'restored-write-only');
    await run(['restore', woFirst.snapshot_id, '--target', woOut], env);
    assert.deepEqual(await fileDigests(join(woOut, src)), await fileDigests(src), 'the write-only backup restores byte-identical');
  });

  it('re-wraps the recovery key when --recovery-key-file is given; the recovery key alone opens the rotated repository', { timeout: 300_000 }, async () => {
    const dir = await tempDir('ebak-rotate-rk-');
    const { env, recoveryKey } = await newRepo(dir);
    const rk = join(dir, 'rk');
    await writeFile(rk, `${recoveryKey}\n`);
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a'), 'data\n');
    await backup(env, src);
    const rot = JSON.parse(await run(['key', 'rotate-master', '--recovery-key-file', rk, '--json'], env)) as Rotation;
    assert.deepEqual(rot.key_files.map((k) => [k.kind, k.fate]).sort(), [['password', 'rewrapped'], ['recovery', 'rewrapped']]);
    assert.equal((await readdir(join(env.EBAK_REPOSITORY!, 'keys'))).length, 2);
    await run(['snapshots', '--recovery-key-file', rk], { EBAK_REPOSITORY: env.EBAK_REPOSITORY! });
    await run(['snapshots'], env);
    // Without it the recovery key file is removed; the next rotation says so.
    const again = JSON.parse(await run(['key', 'rotate-master', '--json'], env)) as Rotation;
    assert.deepEqual(again.key_files.map((k) => [k.kind, k.fate]).sort(), [['password', 'rewrapped'], ['recovery', 'removed']]);
    assertCode(await ebak(['snapshots', '--recovery-key-file', rk, '--json'], { EBAK_REPOSITORY: env.EBAK_REPOSITORY! }), 12, 'WRONG_KEY');
  });
});
