/**
 * `ebak dump` through the real CLI: a file comes back byte for byte (on
 * stdout and with --target); a directory comes back as a tar that the
 * system's `tar -x` turns into the very tree that was backed up (names with
 * spaces, a name that is not UTF-8, a name past ustar's 100 bytes, a
 * symlink, an empty directory, a FIFO, a 20 MiB file); a path not in the
 * snapshot, a symlink, an unknown format and a tar to a terminal are refused with one line;
 * a blob that fails authentication ends the output with an error.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, assertFailed, BIN, ebak, flipBit, newRepo, repoFiles, tempDir } from './harness.js';

const dir = await tempDir('ebak-dump-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
const big = randomBytes(20 * 1024 * 1024);
const long = 'n'.repeat(120);
await mkdir(join(src, 'sub', 'empty'), { recursive: true });
await writeFile(join(src, 'a file with spaces.txt'), 'hello\n');
await writeFile(join(src, 'sub', 'big.bin'), big);
await writeFile(join(src, 'sub', long), 'long name');
await writeFile(Buffer.from(`${src}/caf\xe9-latin1`, 'latin1'), 'not utf-8');
await symlink('a file with spaces.txt', join(src, 'link'));
execFileSync('mkfifo', [join(src, 'fifo')]);
const b = await ebak(['backup', src], env);
assert.equal(b.code, 0, b.stderr);

/** Runs the CLI and keeps stdout as bytes. */
function dumpBytes(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'dump', ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, EBAK_NO_CACHE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out), stderr }));
  });
}

/** Every entry under `root` by its path bytes (latin1): type, permission bits, and contents or target. */
async function describeTree(root: Buffer, rel = Buffer.alloc(0)): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const here = Buffer.concat([root, rel]);
  for (const name of (await readdir(here, { encoding: 'buffer' })).sort(Buffer.compare)) {
    const p = Buffer.concat([rel, Buffer.from('/'), name]);
    const full = Buffer.concat([root, p]);
    const st = await lstat(full);
    const mode = (st.mode & 0o7777).toString(8);
    const key = p.toString('latin1');
    if (st.isDirectory()) {
      out.set(key, `dir ${mode}`);
      for (const [k, v] of await describeTree(root, p)) out.set(k, v);
    } else if (st.isSymbolicLink()) out.set(key, `symlink -> ${await readlink(full)}`);
    else if (st.isFIFO()) out.set(key, `fifo ${mode}`);
    else out.set(key, `file ${mode} ${createHash('sha256').update(await readFile(full)).digest('hex')}`);
  }
  return out;
}

describe('ebak dump', () => {
  it('prints a file byte for byte, and writes it to --target', async () => {
    const r = await dumpBytes(['latest', join(src, 'sub', 'big.bin')]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.equals(big));
    const target = join(dir, 'big.copy');
    assert.equal((await ebak(['dump', 'latest', join(src, 'sub', 'big.bin'), '--target', target], env)).code, 0);
    assert.ok((await readFile(target)).equals(big));
  });

  it('writes a directory as a tar that tar -x extracts to the same tree', async () => {
    const r = await dumpBytes(['latest', src]);
    assert.equal(r.code, 0, r.stderr);
    const out = join(dir, 'extracted');
    await mkdir(out);
    execFileSync('tar', ['-x', '-C', out], { input: r.stdout });
    const want = await describeTree(Buffer.from(src));
    assert.equal(want.size, 8);
    assert.deepEqual(await describeTree(Buffer.from(join(out, src))), want);
  });

  it('with --target writes the archive there, and / is the whole snapshot', async () => {
    const target = join(dir, 'all.tar');
    const r = await ebak(['dump', 'latest', '/', '--target', target], env);
    assert.equal(r.code, 0, r.stderr);
    const names = execFileSync('tar', ['-tf', target], { encoding: 'latin1' }).split('\n').filter(Boolean);
    assert.ok(names.includes(`${src.slice(1)}/sub/empty/`), names.join('\n'));
    assert.ok(names.includes(`${src.slice(1)}/sub/${long}`));
  });

  it('refuses a path not in the snapshot, a symlink, an unknown archive format, and a tar to a terminal', async () => {
    assertCode(await ebak(['dump', 'latest', join(src, 'nope'), '--json'], env), 1, 'NOT_FOUND');
    assertFailed(await ebak(['dump', 'latest', join(src, 'nope')], env), 1, join(src, 'nope'));
    assertCode(await ebak(['dump', 'latest', join(src, 'link'), '--json'], env), 1, 'USAGE');
    assertCode(await ebak(['dump', '--archive', 'rar', 'latest', src, '--json'], env), 1, 'USAGE'); // zip: dump-zip.test.ts
    assertCode(await ebak(['dump', 'latest', '--json'], env), 1, 'USAGE');
    // `script` gives the command a terminal as stdout.
    const tty = spawnSync('script', ['-qec', `${process.execPath} ${BIN} dump latest ${src} --json`, '/dev/null'], { env: { ...process.env, ...env, EBAK_NO_CACHE: '1' }, encoding: 'utf8' });
    assert.equal(tty.status, 1, tty.stdout);
    assert.match(tty.stdout, /"code":"USAGE"/);
  });

  // Last: it damages the repository.
  it('stops at a blob that fails authentication, with an error, before writing its bytes', async () => {
    const packs = await repoFiles(env.EBAK_REPOSITORY!, 'data');
    const sizes = await Promise.all(packs.map(async (p) => (await stat(p)).size));
    const largest = packs[sizes.indexOf(Math.max(...sizes))]!;
    await flipBit(largest, Math.floor(Math.max(...sizes) / 2));
    const r = await dumpBytes(['latest', join(src, 'sub', 'big.bin'), '--json']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /"code":"AUTH_FAILED"/);
    assert.ok(r.stdout.length < big.length && r.stdout.equals(big.subarray(0, r.stdout.length)), 'what was written is the file\'s start');
  });
});
