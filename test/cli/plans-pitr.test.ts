/**
 * Point-in-time selection through the real CLI (#18): `restore --at`,
 * `ls --at`, `diff --at` take the newest snapshot of one host and set of
 * paths taken at or before the time; none by then is NOT_FOUND, a bad time
 * or --at with a snapshot id is USAGE, several hosts by then is USAGE until
 * --host narrows them.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, ebak, lsNodes, ndjson, newRepo, tempDir } from './harness.js';

const dir = await tempDir('ebak-pitr-');
const env = (await newRepo(join(dir, 'r'))).env;
const src = join(dir, 'src');
await mkdir(src);
const TIMES = ['2024-01-01T10:00:00Z', '2024-02-01T10:00:00Z', '2024-03-01T10:00:00Z'];
for (const [i, t] of TIMES.entries()) {
  await writeFile(join(src, 'a.txt'), `version ${i}`);
  const r = await ebak(['backup', src, '--time', t, '--host', 'h1'], env);
  assert.equal(r.code, 0, r.stderr);
}

async function restoredAt(at: string, extra: string[] = []): Promise<string> {
  const target = join(dir, `out-${at.replace(/\W/g, '')}-${extra.length}`);
  const r = await ebak(['restore', '--at', at, '--target', target, ...extra], env);
  assert.equal(r.code, 0, r.stderr);
  return readFile(join(target, src, 'a.txt'), 'utf8');
}

describe('point-in-time (--at)', () => {
  it('restore --at takes the newest snapshot at or before the time', async () => {
    assert.equal(await restoredAt('2024-02-15T00:00:00Z'), 'version 1');
    assert.equal(await restoredAt('2024-02-01T10:00:00Z'), 'version 1', 'at the exact time: that snapshot');
    assert.equal(await restoredAt('2024-01-31T23:59:59+01:00'), 'version 0', 'a zone offset is honoured');
    assert.equal(await restoredAt('2025-01-01'), 'version 2');
  });

  it('before the first snapshot is NOT_FOUND; a bad time or --at with an id is USAGE', async () => {
    const target = join(dir, 'never');
    assertCode(await ebak(['restore', '--at', '2023-12-31T23:59:59Z', '--target', target, '--json'], env), 1, 'NOT_FOUND');
    assertCode(await ebak(['restore', '--at', 'last tuesday', '--target', target, '--json'], env), 1, 'USAGE');
    assertCode(await ebak(['restore', '--at', '2024-13-45', '--target', target, '--json'], env), 1, 'USAGE');
    assertCode(await ebak(['restore', 'latest', '--at', '2024-02-15', '--target', target, '--json'], env), 1, 'USAGE');
    assertCode(await ebak(['ls', '--at', '2024-02-15', 'latest', '/', '--json'], env), 1, 'USAGE');
    assertCode(await ebak(['diff', '--at', '2024-02-15', 'latest', 'latest', '--json'], env), 1, 'USAGE');
  });

  it('ls --at and diff --at', async () => {
    const ls = await ebak(['ls', '--at', '2024-01-15T00:00:00Z', src, '--json'], env);
    assert.equal(ls.code, 0, ls.stderr);
    assert.ok(lsNodes(ls).some((e) => e.path === join(src, 'a.txt')));
    const d = await ebak(['diff', '--at', '2024-01-15T00:00:00Z', 'latest', '--json'], env);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(ndjson(d.stdout).filter((e) => e.message_type === 'change'), [{ message_type: 'change', path: join(src, 'a.txt'), modifier: 'M' }]);
  });

  it('snapshots of another host by then: refused until --host narrows them', async () => {
    await writeFile(join(src, 'a.txt'), 'other host');
    assert.equal((await ebak(['backup', src, '--time', '2024-02-10T00:00:00Z', '--host', 'h2'], env)).code, 0);
    const target = join(dir, 'two-hosts');
    assertCode(await ebak(['restore', '--at', '2024-02-15T00:00:00Z', '--target', target, '--json'], env), 1, 'USAGE');
    assert.equal(await restoredAt('2024-02-15T00:00:00Z', ['--host', 'h1']), 'version 1');
    assert.equal(await restoredAt('2024-02-15T00:00:00Z', ['--host', 'h2']), 'other host');
  });
});
