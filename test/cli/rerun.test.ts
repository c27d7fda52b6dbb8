/**
 * Restoring again into the same target (issue 14, item 10): the normal
 * recovery from an interrupted restore finishes and leaves the target as a
 * fresh restore would, with restic 0.17's --overwrite, --delete, --dry-run
 * and --verify.
 */
import assert from 'node:assert/strict';
import { chmod, link, lstat, mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { ebak, newRepo, startEbak, tempDir, type RunResult } from './harness.js';

/** The snapshot path of the backed-up directory `src`. */
const inSnapshot = (src: string): string => src;
/** Where the restore puts the backed-up directory `src` inside `target`. */
const restoredAt = (target: string, src: string): string => join(target, inSnapshot(src));

/** Every entry under `root`: type, mode, mtime, size, link count, content or link target. */
async function tree(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = join(rel, name);
    const st = await lstat(join(root, p));
    const what = st.isSymbolicLink() ? `-> ${await import('node:fs/promises').then((f) => f.readlink(join(root, p)))}` : st.isFile() ? (await readFile(join(root, p))).toString('hex') : 'dir';
    out.set(p, `${st.mode.toString(8)} ${st.mtimeMs} ${st.size} ${st.nlink} ${what}`);
    if (st.isDirectory()) for (const [k, v] of await tree(root, p)) out.set(k, v);
  }
  return out;
}

/** Root obeys file modes once CAP_DAC_OVERRIDE is gone (uid stays 0, so the repository stays readable). */
const asNonRoot = process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--'] : [];

const json = (r: RunResult) => JSON.parse(r.stdout) as { files: number; unchanged: number; skipped: number; deleted: number; verified: number; errors: number };

const dir = await tempDir('ebak-rerun-');

describe('restore again into the same target', () => {
  let src: string;
  let env: Record<string, string>;
  let n = 0;
  const target = () => join(dir, `out${++n}`);
  const restore = (to: string, ...args: string[]) => ebak(['restore', 'latest', '--target', to, ...args], env);

  before(async () => {
    src = join(dir, 'src');
    await mkdir(join(src, 'ro-dir'), { recursive: true });
    await mkdir(join(src, 'empty'));
    await writeFile(join(src, 'a.txt'), 'alpha\n');
    await writeFile(join(src, 'ro.txt'), 'read only\n');
    await writeFile(join(src, 'ro-dir', 'inner.txt'), 'inside a read-only directory\n');
    await writeFile(join(src, 'h1'), 'hard linked\n');
    await link(join(src, 'h1'), join(src, 'h2'));
    await symlink('a.txt', join(src, 'link'));
    for (const f of ['a.txt', 'ro.txt']) await utimes(join(src, f), 1_700_000_000, 1_700_000_000); // whole seconds: set back exactly below
    await chmod(join(src, 'ro.txt'), 0o444);
    await chmod(join(src, 'ro-dir'), 0o555);
    ({ env } = await newRepo(dir));
    const b = await ebak(['backup', src], env);
    assert.equal(b.code, 0, b.stderr);
  });

  it('a second restore (as root: symlinks and hard links already there) finishes and leaves the target identical', async () => {
    const out = target();
    assert.equal((await restore(out)).code, 0);
    const first = await tree(out);
    const again = await restore(out, '--json');
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(await tree(out), first);
    assert.equal(json(again).errors, 0);
    assert.equal(json(again).unchanged, 5, again.stdout); // a.txt, ro.txt, inner.txt, h1 and its link h2
  });

  it('as a user bound by file modes, a second restore over read-only files and directories finishes', async () => {
    const out = target();
    assert.equal((await restore(out)).code, 0);
    const first = await tree(out);
    await writeFile(join(restoredAt(out, src), 'a.txt'), 'ALPHA\n'); // same size, another content: rewritten
    const r = await startEbak(['restore', 'latest', '--target', out], env, asNonRoot).done;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await tree(out), first);
  });

  it('--overwrite: if-changed trusts size and mtime, always reads the content, if-newer and never keep what is there', async () => {
    const out = target();
    assert.equal((await restore(out)).code, 0);
    const a = join(restoredAt(out, src), 'a.txt');
    const st = await lstat(a);
    await writeFile(a, 'ALPHA\n');
    await utimes(a, st.atime, st.mtime); // same size and mtime as in the snapshot, other content
    assert.equal(json(await restore(out, '--overwrite', 'if-changed', '--json')).unchanged, 5);
    assert.equal(await readFile(a, 'utf8'), 'ALPHA\n');
    const never = json(await restore(out, '--overwrite', 'never', '--json'));
    assert.equal(await readFile(a, 'utf8'), 'ALPHA\n');
    assert.ok(never.skipped >= 5 && never.files === 0, JSON.stringify(never));
    const newer = new Date(st.mtimeMs + 60_000);
    await utimes(a, newer, newer);
    assert.equal((await restore(out, '--overwrite', 'if-newer')).code, 0);
    assert.equal(await readFile(a, 'utf8'), 'ALPHA\n', 'newer than the snapshot: kept');
    const older = new Date(st.mtimeMs - 60_000);
    await utimes(a, older, older);
    assert.equal((await restore(out, '--overwrite', 'if-newer')).code, 0);
    assert.equal(await readFile(a, 'utf8'), 'alpha\n', 'older than the snapshot: replaced');
    await writeFile(a, 'ALPHA\n');
    await utimes(a, st.atime, st.mtime);
    assert.equal(json(await restore(out, '--json')).files, 1, 'always: the content is read, the one file that differs is written');
    assert.equal(await readFile(a, 'utf8'), 'alpha\n');
  });

  it('--verify reads every file back: a file kept on trust that differs is an error (exit 3)', async () => {
    const out = target();
    const fresh = await restore(out, '--verify', '--json');
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.equal(json(fresh).verified, 4);
    const a = join(restoredAt(out, src), 'a.txt');
    const st = await lstat(a);
    await writeFile(a, 'ALPHA\n');
    await utimes(a, st.atime, st.mtime);
    const r = await restore(out, '--overwrite', 'if-changed', '--verify');
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /warning: .*a\.txt/);
  });

  it('--delete removes what the snapshot lacks, only under the restored paths; --dry-run -v says so and writes nothing', async () => {
    const out = target();
    assert.equal((await restore(out)).code, 0);
    const first = await tree(out);
    const at = restoredAt(out, src);
    await writeFile(join(at, 'extra.txt'), 'not in the snapshot\n');
    await mkdir(join(at, 'extra-dir', 'deep'), { recursive: true });
    await writeFile(join(at, 'ro-dir', '..', 'empty', 'extra'), 'x');
    const before = await tree(out);
    const dry = await restore(out, '--delete', '--dry-run', '-v');
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(await tree(out), before, 'a dry run writes nothing');
    for (const p of ['extra.txt', 'extra-dir', 'empty/extra']) assert.match(dry.stdout, new RegExp(`deleted .*/src/${p}\\n`));
    const partial = await restore(out, '--delete', '--include', `${inSnapshot(src)}/empty`);
    assert.equal(partial.code, 0, partial.stderr);
    assert.ok((await tree(out)).has(join(at.slice(out.length + 1), 'extra.txt')), 'outside the included path: kept');
    assert.equal((await restore(out, '--delete')).code, 0);
    assert.deepEqual(await tree(out), first);
  });

  it('--dry-run into a new target creates nothing and lists what it would restore', async () => {
    const out = target();
    const r = await restore(out, '--dry-run', '--verbose');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /restored .*\/a\.txt/);
    await assert.rejects(lstat(out));
  });
});
