/**
 * `dump --archive zip` (restic's): a snapshot directory as a ZIP that
 * Info-ZIP's unzip and Python's zipfile read back (every CRC checked), with
 * the files' bytes, the directories, symlinks as link entries and the Unix
 * modes; more than 65,534 entries through the ZIP64 end record; the CRC-32
 * against its check value and zlib's.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { crc32 } from '../../src/restorer/zip.js';
import { assertCode, ebak, newRepo, tempDir } from './harness.js';

const dir = await tempDir('ebak-zip-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(join(src, 'sub', 'empty'), { recursive: true });
const random = randomBytes(700_000);
await writeFile(join(src, 'random.bin'), random);
await writeFile(join(src, 'sub', 'text.txt'), 'words, words, words\n'.repeat(10_000));
await writeFile(join(src, 'sub', 'run.sh'), '#!/bin/sh\n');
await chmod(join(src, 'sub', 'run.sh'), 0o750);
await writeFile(join(src, 'zero.bin'), '');
await writeFile(join(src, 'été.txt'), 'accents');
await symlink('sub/text.txt', join(src, 'link'));
assert.equal((await ebak(['backup', src], env)).code, 0);

/** What Python's zipfile reads from the archive: each entry's name, Unix mode, size, and sha256 of its bytes (testzip() checks every CRC first). */
function pythonRead(zip: string): { name: string; mode: number; size: number; sha256: string }[] {
  const script = [
    'import hashlib, json, sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'assert z.testzip() is None',
    'print(json.dumps([{"name": i.filename, "mode": i.external_attr >> 16, "size": i.file_size, "sha256": hashlib.sha256(z.read(i)).hexdigest()} for i in z.infolist()]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script, zip], { encoding: 'utf8' })) as { name: string; mode: number; size: number; sha256: string }[];
}

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('dump --archive zip', () => {
  it('writes a ZIP unzip and zipfile read back, with bytes, directories, links and modes', async () => {
    const zip = join(dir, 'out.zip');
    const r = await ebak(['dump', '--archive', 'zip', '--target', zip, 'latest', src], env);
    assert.equal(r.code, 0, r.stderr);
    execFileSync('unzip', ['-tq', zip]);
    const entries = new Map(pythonRead(zip).map((e) => [e.name, e]));
    const base = src.slice(1);
    assert.equal(entries.get(`${base}/random.bin`)?.sha256, sha256(random));
    assert.equal(entries.get(`${base}/sub/text.txt`)?.size, 200_000);
    assert.equal(entries.get(`${base}/zero.bin`)?.size, 0);
    assert.ok(entries.has(`${base}/été.txt`), 'a UTF-8 name');
    assert.equal((entries.get(`${base}/sub/run.sh`)!.mode & 0o7777), 0o750);
    const link = entries.get(`${base}/link`)!;
    assert.equal(link.mode & 0o170000, 0o120000, 'a symlink entry');
    assert.equal(link.sha256, sha256('sub/text.txt'), 'holding its target');
    assert.ok(entries.has(`${base}/sub/empty/`), 'directories end in /');
    const out = join(dir, 'unzipped');
    execFileSync('unzip', ['-q', zip, '-d', out]);
    assert.equal(execFileSync('readlink', [join(out, base, 'link')], { encoding: 'utf8' }).trim(), 'sub/text.txt', 'unzip restores the link');
  });

  it('the whole snapshot goes to stdout; an unknown format is refused', async () => {
    const r = await ebak(['dump', '--archive', 'zip', 'latest', '/'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.startsWith('PK\x03\x04'), 'a ZIP local file header first');
    assertCode(await ebak(['dump', '--archive', 'rar', 'latest', src, '--json'], env), 1, 'USAGE');
  });

  it('more than 65,534 entries: the ZIP64 end record and locator carry the count', { timeout: 300_000 }, async () => {
    const many = join(dir, 'many');
    for (let d = 0; d < 64; d++) {
      mkdirSync(join(many, `d${d}`), { recursive: true });
      for (let i = 0; i < 1024; i++) writeFileSync(join(many, `d${d}`, `f${i}`), '');
    }
    assert.equal((await ebak(['backup', many, '-q'], env)).code, 0);
    const zip = join(dir, 'many.zip');
    const r = await ebak(['dump', '--archive', 'zip', '--target', zip, 'latest', many], env);
    assert.equal(r.code, 0, r.stderr);
    const count = execFileSync('python3', ['-c', 'import sys, zipfile; print(len(zipfile.ZipFile(sys.argv[1]).infolist()))', zip], { encoding: 'utf8' });
    assert.equal(Number(count), 64 * 1024 + 64);
    assert.match(execFileSync('zipinfo', ['-h', zip], { encoding: 'utf8' }), /number of entries: 65600/);
  });

  it('CRC-32 (ISO 3309) gives the check value and agrees with zlib', () => {
    assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
    const data = randomBytes(100_001);
    const z = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
    if (z) assert.equal(crc32(data), z(data));
    assert.equal(crc32(data.subarray(50_000), crc32(data.subarray(0, 50_000))), crc32(data), 'continued');
  });
});
