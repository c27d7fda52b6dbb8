/**
 * Restore never writes outside its target, whatever the repository holds.
 * (a) Someone WITH the key crafts snapshots through the library (raw tree
 *     JSON sealed by the real Packer, so only ebak's own checks stand in the
 *     way): escaping names, links out, duplicate names, lying sizes, retyped
 *     blobs; plus pre-existing symlinks in the target.
 * (b) Someone WITHOUT the key controls storage: foreign snapshots, garbage
 *     packs, fake key files. Detected, one line, no crash.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile, lstat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { sha256 } from '../../src/crypto/index.js';
import { BlobType } from '../../src/repository/format/pack.js';
import type { BlobWriter } from '../../src/repository/api.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { openBackend } from '../../src/storage/open.js';
import {
  assertCode, assertFailed, copyTree, ebak, errorLines, jsonError, newRepo, packKind, repoFiles, tempDir, type RunResult,
} from './harness.js';

type RawNode = Record<string, unknown>;

const base = await tempDir('ebak-malicious-');
/** Restore targets live in jail/; everything else under `base` must never change. */
const jail = join(base, 'jail');
const outside = join(base, 'outside');
let env: Record<string, string>;

/** Writes blobs and trees the way an attacker holding the key would: any bytes, sealed for real. */
class Crafter {
  private constructor(private readonly repo: Repository, private packer: BlobWriter, private readonly pool: WorkerPool, private readonly close: () => Promise<void>) {}

  static async open(location: string, password: string): Promise<Crafter> {
    const backend = await openBackend(location, {});
    const repo = await Repository.open(backend, { password });
    await repo.loadIndex();
    const pool = new WorkerPool(1);
    return new Crafter(repo, repo.blobWriter(pool), pool, () => backend.close());
  }

  async blob(type: number, bytes: Buffer): Promise<string> {
    const id = this.repo.blobId(bytes);
    await this.packer.add(type, id, Buffer.from(bytes)); // add() takes ownership of its buffer
    return id.toString('hex');
  }

  data(text: string): Promise<string> {
    return this.blob(BlobType.data, Buffer.from(text));
  }

  /** A tree blob from raw nodes, sorted by name as the format requires (unless `unsorted`); no other checks. */
  tree(nodes: RawNode[], unsorted = false): Promise<string> {
    const ordered = unsorted ? nodes : [...nodes].sort((a, b) => Buffer.compare(Buffer.from(String(a.name)), Buffer.from(String(b.name))));
    return this.blob(BlobType.tree, Buffer.from(JSON.stringify({ version: 1, nodes: ordered })));
  }

  /** Seals everything and writes a snapshot of `tree`; returns the snapshot id. */
  async snapshot(tree: string): Promise<string> {
    await this.packer.finish();
    this.packer = this.repo.blobWriter(this.pool);
    return this.repo.saveSnapshot({
      version: 1, time: new Date().toISOString(), hostname: 'evil', username: 'evil', paths: ['/x'], tags: [], excludes: [], tree, program_version: 'crafted',
    });
  }

  async done(): Promise<void> {
    await this.packer.finish();
    await this.pool.close();
    await this.close();
  }
}

const meta = { mode: 0o644, uid: 0, gid: 0, mtime: '1000000000000000000', ctime: '1000000000000000000', inode: '1', dev: '1', links: 1 };
const file = (name: string, content: string[], size: number, extra: RawNode = {}): RawNode => ({ name, type: 'file', ...meta, size, content, ...extra });
const dir = (name: string, subtree: string): RawNode => ({ name, type: 'dir', ...meta, mode: 0o755, subtree });
const link = (name: string, target: string): RawNode => ({ name, type: 'symlink', ...meta, mode: 0o777, target });

/** Every path under `base` outside the current target, with its type: what must not change. */
async function world(skip: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const n of (await readdir(d)).sort()) {
      const p = join(d, n);
      if (p === skip) continue;
      const st = await lstat(p);
      out.push(`${relative(base, p)} ${st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : `f${st.size}`}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(base);
  return out;
}

let targetNo = 0;
/** Restores `snap` into a fresh target (or `target`), asserting nothing outside it changed. */
async function restoreInJail(snap: string, opts: { target?: string; args?: string[] } = {}): Promise<{ r: RunResult; target: string }> {
  const target = opts.target ?? join(jail, `t${++targetNo}`);
  const before = await world(target);
  const r = await ebak(['restore', snap, '--target', target, ...(opts.args ?? [])], env);
  assert.deepEqual(await world(target), before, `restore of ${snap.slice(0, 8)} changed something outside ${target}: ${r.stderr}`);
  assert.ok(!/unexpected error|TypeError|at .*\.js:\d+/.test(r.stderr), r.stderr);
  return { r, target };
}

/** Snapshot ids by case name, crafted once in before(). */
const snaps: Record<string, string> = {};

before(async () => {
  await mkdir(jail);
  await mkdir(outside);
  await writeFile(join(outside, 'victim'), 'original\n');
  ({ env } = await newRepo(base));
  const c = await Crafter.open(env.EBAK_REPOSITORY, env.EBAK_PASSWORD);
  const payload = await c.data('payload\n');
  const pwnTree = await c.tree([file('pwned', [payload], 8)]);
  const ok = file('ok.txt', [payload], 8);
  for (const bad of ['..', '.', '', '../x', '../../x', 'a/b', '/abs', 'a\0b']) {
    snaps[`name ${JSON.stringify(bad)} (file)`] = await c.snapshot(await c.tree([file(bad, [payload], 8), ok]));
    snaps[`name ${JSON.stringify(bad)} (dir)`] = await c.snapshot(await c.tree([dir(bad, pwnTree)]));
  }
  snaps.linkEtc = await c.snapshot(await c.tree([link('etc', '/etc'), ok]));
  snaps.linkUp = await c.snapshot(await c.tree([link('up', '../../x'), ok]));
  snaps.linkOutside = await c.snapshot(await c.tree([link('a', outside)]));
  snaps.dirA = await c.snapshot(await c.tree([dir('a', await c.tree([file('victim', [payload], 8)]))]));
  // "M" -> "." and "L" -> "M/..": each looks inside on its own, but L really resolves to the target's parent.
  snaps.linkChain = await c.snapshot(await c.tree([link('L', 'M/..'), link('M', '.')]));
  const victimTree = await c.tree([file('victim', [payload], 8)]);
  snaps.dirL = await c.snapshot(await c.tree([dir('L', victimTree)]));
  snaps.dirEtc = await c.snapshot(await c.tree([dir('etc', await c.tree([file('passwd', [payload], 8)]))]));
  snaps.duplicate = await c.snapshot(await c.tree([link('x', outside), dir('x', pwnTree)], true));
  snaps.unsorted = await c.snapshot(await c.tree([ok, file('a.txt', [payload], 8)], true));
  snaps.tooBig = await c.snapshot(await c.tree([file('big', [payload, payload], 8), ok]));
  snaps.tooSmall = await c.snapshot(await c.tree([file('small', [payload], 4096), ok]));
  snaps.fileIsTree = await c.snapshot(await c.tree([file('retyped', [pwnTree], 26), ok]));
  snaps.dirIsData = await c.snapshot(await c.tree([dir('retyped', payload)]));
  snaps.missingBlob = await c.snapshot(await c.tree([file('gone', ['ab'.repeat(32)], 8), ok]));
  snaps.fine = await c.snapshot(await c.tree([dir('src', await c.tree([file('f', [payload], 8)]))]));
  await c.done();
});

describe('a repository crafted by someone holding the key', () => {
  for (const bad of ['..', '.', '', '../x', '../../x', 'a/b', '/abs', 'a\0b']) {
    for (const kind of ['file', 'dir']) {
      it(`refuses the entry name ${JSON.stringify(bad)} (${kind}) with UNSAFE_PATH`, async () => {
        const snap = snaps[`name ${JSON.stringify(bad)} (${kind})`]!;
        const { r: j } = await restoreInJail(snap, { args: ['--json'] });
        assertCode(j, 1, 'UNSAFE_PATH');
        assertFailed(await ebak(['ls', snap], env), 1, 'refusing entry name');
      });
    }
  }

  it('restores an absolute symlink to /etc as it was (as restic, borg and tar do); a later directory of its name is refused, /etc untouched', async () => {
    const { r, target } = await restoreInJail(snaps.linkEtc!);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await readdir(target)).sort(), ['etc', 'ok.txt']);
    assert.equal(await readlink(join(target, 'etc')), '/etc');
    const { r: again } = await restoreInJail(snaps.dirEtc!, { target });
    assertFailed(again, 1, 'is not a directory');
  });

  it('restores a relative symlink "../../x" as it was', async () => {
    const { r, target } = await restoreInJail(snaps.linkUp!);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readlink(join(target, 'up')), '../../x');
  });

  it('links that resolve outside only through each other are restored as recorded; nothing is ever written through them', async () => {
    const { r, target } = await restoreInJail(snaps.linkChain!);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await readlink(join(target, 'L')), 'M/..');
    assert.equal(await readlink(join(target, 'M')), '.');
    const { r: again } = await restoreInJail(snaps.dirL!, { target }); // "L/victim" would land beside the target
    assertFailed(again, 1, 'is not a directory');
  });

  it('refuses a symlink and a directory of the same name (CORRUPT), and unsorted entries', async () => {
    for (const s of [snaps.duplicate!, snaps.unsorted!]) {
      const { r, target } = await restoreInJail(s, { args: ['--json'] });
      assert.equal(jsonError(r).code, 'CORRUPT');
      assert.deepEqual(await readdir(target), []);
    }
  });

  it('a directory restored over a symlink left by an earlier restore is refused; nothing written through it', async () => {
    // --allow-outside-symlinks is still accepted (deprecated, no effect).
    const { r: first, target } = await restoreInJail(snaps.linkOutside!, { args: ['--allow-outside-symlinks'] });
    assert.equal(first.code, 0, first.stderr);
    const { r } = await restoreInJail(snaps.dirA!, { target });
    assertFailed(r, 1, 'is not a directory');
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'original\n');
  });

  it('a file whose blobs hold more, or less, than its size is refused and not left behind (exit 3)', async () => {
    for (const [s, name] of [[snaps.tooBig!, 'big'], [snaps.tooSmall!, 'small']] as const) {
      const { r, target } = await restoreInJail(s);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, new RegExp(`warning: .*/${name}: .*snapshot records`));
      assert.deepEqual(await readdir(target), ['ok.txt']);
      assert.equal(await readFile(join(target, 'ok.txt'), 'utf8'), 'payload\n');
    }
  });

  it('a file pointing at a tree blob, or a missing blob, is refused per file; a directory pointing at a data blob stops the restore', async () => {
    for (const s of [snaps.fileIsTree!, snaps.missingBlob!]) {
      const { r, target } = await restoreInJail(s);
      assert.equal(r.code, 3, r.stderr);
      assert.deepEqual(await readdir(target), ['ok.txt']);
    }
    const { r } = await restoreInJail(snaps.dirIsData!, { args: ['--json'] });
    assert.equal(jsonError(r).code, 'CORRUPT');
  });

  it('does not write through a symlinked directory or file already in the target', async () => {
    const target = join(jail, 'prelinked');
    await mkdir(target);
    await symlink(outside, join(target, 'src'));
    const { r } = await restoreInJail(snaps.fine!, { target });
    assertFailed(r, 1, 'is not a directory');
    assert.deepEqual((await readdir(outside)).sort(), ['victim']);
    await rm(join(target, 'src'));
    await mkdir(join(target, 'src'));
    await symlink(join(outside, 'victim'), join(target, 'src', 'f'));
    const { r: r2 } = await restoreInJail(snaps.fine!, { target });
    assertFailed(r2, 1, 'refusing to write through it');
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'original\n');
    assert.ok((await lstat(join(target, 'src', 'f'))).isSymbolicLink(), 'the user\'s own symlink is left alone');
  });
});

describe('a repository altered by someone without the key (storage only)', () => {
  let victim: Record<string, string>;
  let other: { env: Record<string, string> };
  let n = 0;
  const fresh = async () => {
    const repo = join(base, `copy${++n}`);
    await copyTree(victim.EBAK_REPOSITORY!, repo);
    return { repo, env: { ...victim, EBAK_REPOSITORY: repo } };
  };
  const backupOne = async (e: Record<string, string>, name: string) => {
    const src = join(base, name, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'f'), `${name}\n`);
    assert.equal((await ebak(['backup', src], e)).code, 0);
  };

  before(async () => {
    victim = (await newRepo(join(base, 'victim'))).env;
    await backupOne(victim, 'victim');
    // The attacker's own repository: well-formed objects under another key.
    other = await newRepo(join(base, 'attacker'), 'the attacker\'s password');
    await backupOne(other.env, 'attacker');
  });

  it('a snapshot taken from another repository fails authentication', async () => {
    const { repo, env: e } = await fresh();
    const foreign = (await repoFiles(other.env.EBAK_REPOSITORY, 'snapshots'))[0]!;
    const name = foreign.slice(foreign.lastIndexOf('/') + 1);
    await writeFile(join(repo, 'snapshots', name), await readFile(foreign));
    const r = await ebak(['snapshots'], e);
    assert.ok(r.code === 3 && r.stderr.includes(`snapshots/${name}`), r.stderr);
    assert.match(r.stderr, /authentication failed/);
    assertFailed(await ebak(['check'], e), 1, `snapshots/${name}`);
  });

  it('a pack replaced by garbage of the same size: check --read-data names it; restore reports it per file, never crashes', async () => {
    const { repo, env: e } = await fresh();
    for (const p of await repoFiles(repo, 'data')) if ((await packKind(p)) === 0) await writeFile(p, randomBytes((await stat(p)).size));
    assertFailed(await ebak(['check', '--read-data'], e), 1, 'data/');
    const r = await ebak(['restore', 'latest', '--target', join(base, `garbage-out${n}`)], e);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /warning: .*\/src\/f: blob [0-9a-f]+ in data\/[0-9a-f]{64}: authentication failed/);
    assert.equal(errorLines(r.stderr).length, 0);
    await assert.rejects(stat(join(base, `garbage-out${n}`, base, 'victim', 'src', 'f')), { code: 'ENOENT' });
  });

  it('fake key files: garbage is reported by check; another repository\'s key does not open this one', async () => {
    const { repo, env: e } = await fresh();
    const junk = Buffer.from('{"version":1,"kind":"password","oops":');
    const junkName = sha256(junk).toString('hex');
    await writeFile(join(repo, 'keys', junkName), junk);
    for (const k of await repoFiles(other.env.EBAK_REPOSITORY, 'keys')) await writeFile(join(repo, 'keys', k.slice(k.lastIndexOf('/') + 1)), await readFile(k));
    const s = await ebak(['snapshots', '--json'], e);
    assert.equal(s.code, 0, s.stderr);
    assert.ok(JSON.parse(s.stdout).length > 0, 'our own password still opens our repository');
    assertFailed(await ebak(['check'], e), 1, `keys/${junkName}`);
    // The attacker's password opens the attacker's envelope, whose key then fails on our config.
    assertFailed(await ebak(['snapshots'], { ...e, EBAK_PASSWORD: other.env.EBAK_PASSWORD }), 1, 'config');
  });
});
