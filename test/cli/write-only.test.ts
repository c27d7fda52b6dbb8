/**
 * Write-only credentials in local mode (issue #20) through the real CLI: a
 * full key makes one with `key add --write-only`; it backs up twice (the
 * second run adds no blobs, deduplicating against its own index files) and
 * every other command that opens the repository refuses it with exit 25
 * (WRITE_ONLY) and one line. The full key lists, restores byte-identical and
 * checks what it wrote, and after forget and prune its data stays restorable.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, assertFailed, backupSummary, ebak, fileDigests, newRepo, repoFiles, tempDir } from './harness.js';

interface Summary {
  snapshot_id: string;
  data_added: number;
  data_blobs_added: number;
  tree_blobs_added: number;
}

const dir = await tempDir('ebak-wo-');
const { env: full } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(join(src, 'sub'), { recursive: true });
await writeFile(join(src, 'a.txt'), 'hello write-only\n');
await writeFile(join(src, 'sub', 'big.bin'), randomBytes(3 * 1024 * 1024));
await writeFile(join(src, 'sub', 'small.bin'), randomBytes(5000));
const pwFile = join(dir, 'device-password');
await writeFile(pwFile, 'device password\n');
const device = { EBAK_REPOSITORY: full.EBAK_REPOSITORY!, EBAK_PASSWORD: 'device password' };

async function backup(env: Record<string, string>): Promise<Summary> {
  const r = await ebak(['backup', src, '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  return backupSummary(r) as Summary;
}

async function restoredDigests(id: string, name: string): Promise<Map<string, string>> {
  const target = join(dir, name);
  const r = await ebak(['restore', id, '--target', target], full);
  assert.equal(r.code, 0, r.stderr);
  return fileDigests(join(target, src));
}

const fullSnapshot = (await backup(full)).snapshot_id;
const added = await ebak(['key', 'add', '--write-only', '--new-password-file', pwFile, '--json'], full);
const first = added.code === 0 ? await backup(device) : undefined;
const second = first ? await backup(device) : undefined;

describe('write-only credential (local mode)', () => {
  it('is added by a full-key session', () => {
    assert.equal(added.code, 0, added.stderr);
    assert.equal((JSON.parse(added.stdout) as { kind: string }).kind, 'write-only');
  });

  it('backs up, and a second backup of the same files adds no blobs', () => {
    assert.ok(first && second);
    assert.ok(first.data_blobs_added > 0);
    assert.equal(second.data_blobs_added, 0);
    // Trees on the way to the source (the temporary folder's parents) may have changed meanwhile: a few tree blobs at most.
    assert.ok(second.tree_blobs_added <= 3, `second run added ${second.tree_blobs_added} trees`);
    assert.ok(second.data_added < first.data_added / 100, `second run added ${second.data_added} bytes`);
  });

  it('is refused by every command that reads, deletes or changes keys (exit 25, one line)', async () => {
    const target = join(dir, 'refused');
    const commands = [
      ['restore', 'latest', '--target', target], ['ls', 'latest'], ['cat', 'config'], ['diff', 'latest', 'latest'], ['find', 'a.txt'],
      ['stats'], ['snapshots'], ['check'], ['tag', '--add', 't', 'latest'], ['forget', '--keep-last', '1'], ['prune'],
      ['repair', 'index'], ['unlock'], ['key', 'list'], ['key', 'add', '--new-password-file', pwFile], ['key', 'add', '--recovery'], ['key', 'remove', 'abcd'],
      ['backup', src, '--parent', 'latest'],
    ];
    for (const args of commands) {
      assertFailed(await ebak(args, device), 25);
      assertCode(await ebak([...args, '--json'], device), 25, 'WRITE_ONLY');
    }
  });

  it('its snapshots are listed, restored byte-identical and checked by the full key', async () => {
    assert.ok(first && second);
    const r = await ebak(['snapshots', '--json'], full);
    assert.equal(r.code, 0, r.stderr);
    const ids = (JSON.parse(r.stdout) as { id: string }[]).map((s) => s.id).sort();
    assert.deepEqual(ids, [fullSnapshot, first.snapshot_id, second.snapshot_id].sort());
    const want = await fileDigests(src);
    assert.deepEqual(await restoredDigests(first.snapshot_id, 'out1'), want);
    assert.deepEqual(await restoredDigests(second.snapshot_id, 'out2'), want);
    const check = await ebak(['check', '--read-data'], full);
    assert.equal(check.code, 0, check.stderr + check.stdout);
  });

  it('after forget and prune with the full key, its remaining snapshot still restores', async () => {
    assert.ok(first && second);
    const f = await ebak(['forget', fullSnapshot, first.snapshot_id], full);
    assert.equal(f.code, 0, f.stderr);
    const p = await ebak(['prune', '--max-unused', '0'], full);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(await restoredDigests(second.snapshot_id, 'out3'), await fileDigests(src));
    const check = await ebak(['check', '--read-data'], full);
    assert.equal(check.code, 0, check.stderr + check.stdout);
    const again = await backup(device);
    assert.ok(again.snapshot_id);
  });
});

describe('write-only credential and the global writing flags', () => {
  it('--pack-size and --compression reach its packs; the full key still lists keys without a password', async () => {
    // 10 MiB of distinct, very compressible lines: at the repository's level they would shrink tenfold, in one pack.
    const lines = Array.from({ length: 400_000 }, (_, i) => `line ${i} of the write-only host\n`).join('');
    await writeFile(join(src, 'more.txt'), lines);
    const before = (await repoFiles(full.EBAK_REPOSITORY!, 'data')).length;
    const r = await ebak(['backup', src, '--pack-size', '4', '--compression', 'off', '--json'], device);
    assert.equal(r.code, 0, r.stderr);
    const s = backupSummary(r) as Summary; // a backup over a second prints status lines first
    assert.ok(s.data_added >= lines.length * 0.95, `uncompressed: ${s.data_added} bytes stored of ${lines.length}`);
    assert.ok((await repoFiles(full.EBAK_REPOSITORY!, 'data')).length - before >= 2, '4 MiB packs');
    const list = await ebak(['key', 'list', '--json'], { EBAK_REPOSITORY: full.EBAK_REPOSITORY! });
    assert.equal(list.code, 0, list.stderr);
    assert.ok((JSON.parse(list.stdout) as { kind: string }[]).some((k) => k.kind === 'write-only'));
  });
});

describe('write-only credential in a plan', () => {
  it('runs the plan\'s backup; the full key sees the snapshot', async () => {
    const plans = join(dir, 'plans.yaml');
    await writeFile(plans, ['plans:', '  - name: device', `    repository: ${full.EBAK_REPOSITORY}`, `    password_file: ${pwFile}`, `    sources: [${src}]`, '    schedule: "@daily"', '    timezone: UTC', ''].join('\n'));
    const before = (JSON.parse((await ebak(['snapshots', '--json'], full)).stdout) as unknown[]).length;
    const r = await ebak(['plan', 'run', 'device', '--plans', plans, '--state', join(dir, 'plan-state.json'), '--json'], { EBAK_CONFIG_DIR: join(dir, 'config') });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal((JSON.parse((await ebak(['snapshots', '--json'], full)).stdout) as unknown[]).length, before + 1);
  });
});
