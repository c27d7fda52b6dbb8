/**
 * `backup --json` is restic's NDJSON stream (doc/075_scripting.rst): `status`
 * lines about once a second while it runs, `verbose_status` per file and
 * directory under --verbose with restic 0.17's sizes (data_size_in_repo,
 * metadata_size[_in_repo]; and `scan_finished`), an `error` message on stderr for each
 * entry skipped (beside its warning), and the `summary` last, with restic's
 * names. Nothing but JSON lines reaches stdout; no progress line is mixed in.
 * Also --read-concurrency (restic's): 1 and 4 files read at a time give the
 * same files, blobs and metadata.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, backupSummary, ebak, ndjson, newRepo, startEbak, tempDir } from './harness.js';

const dir = await tempDir('ebak-bjson-');
const { env } = await newRepo(dir);
const src = join(dir, 'src');
await mkdir(join(src, 'sub'), { recursive: true });
await writeFile(join(src, 'a.txt'), 'a');
await writeFile(join(src, 'sub', 'b.bin'), Buffer.alloc(200_000, 7));

const STATUS_FIELDS = ['message_type', 'seconds_elapsed', 'percent_done', 'total_files', 'files_done', 'total_bytes', 'bytes_done', 'error_count', 'current_files'];

describe('backup --json', () => {
  it('streams status lines while a slow backup runs, then the summary last', async () => {
    const r = await ebak(['backup', '--json', '--stdin-from-command', '--', 'sh', '-c', 'head -c 100000 /dev/zero; sleep 2.5; echo end'], env);
    assert.equal(r.code, 0, r.stderr);
    const lines = ndjson(r.stdout); // every stdout line is JSON
    const status = lines.filter((l) => l.message_type === 'status');
    assert.ok(status.length >= 1, `a status line for a backup of more than a second: ${r.stdout}`);
    for (const s of status) {
      for (const f of STATUS_FIELDS) assert.ok(f in s, `status has ${f}: ${JSON.stringify(s)}`);
      assert.ok((s.percent_done as number) >= 0 && (s.percent_done as number) <= 1);
      assert.ok(Array.isArray(s.current_files));
    }
    const elapsed = status.map((s) => s.seconds_elapsed as number);
    assert.deepEqual(elapsed, [...elapsed].sort((a, b) => a - b), 'seconds_elapsed grows');
    assert.equal(lines.at(-1)!.message_type, 'summary');
    assert.equal(lines.filter((l) => l.message_type === 'summary').length, 1);
    assert.ok(!r.stderr.includes('\r') && !r.stderr.includes('\x1b['), 'no terminal progress');
  });

  it('the summary keeps its fields and adds restic\'s names', async () => {
    const s = backupSummary(await ebak(['backup', src, '--json'], env));
    for (const f of ['snapshot_id', 'files_new', 'files_changed', 'files_unmodified', 'dirs', 'files_unreadable', 'bytes_processed', 'total_bytes', 'data_blobs_added', 'tree_blobs_added', 'data_added', 'total_duration', 'requests']) assert.ok(f in s, f);
    assert.equal(s.files_new, 2);
    assert.equal(s.data_blobs, s.data_blobs_added);
    assert.equal(s.tree_blobs, s.tree_blobs_added);
    assert.equal(s.data_added_packed, s.data_added);
    assert.equal(s.total_files_processed, 2);
    assert.equal(s.total_bytes_processed, 200_001);
    assert.ok(s.dirs_new >= 2 && s.dirs_changed === 0 && s.dirs_unmodified === 0, 'src and sub are new, as the directories on the way');
    assert.ok(Date.parse(s.backup_start) <= Date.parse(s.backup_end));
  });

  it('--verbose adds a verbose_status line per file and directory: new, unchanged, modified, with their sizes in the repository', async () => {
    await writeFile(join(src, 'a.txt'), 'a, changed');
    const r = await ebak(['backup', src, '--json', '-v'], env);
    assert.equal(r.code, 0, r.stderr);
    const verbose = ndjson(r.stdout).filter((l) => l.message_type === 'verbose_status');
    const byItem = new Map(verbose.filter((v) => v.item !== undefined).map((v) => [v.item, v]));
    assert.equal(byItem.get(join(src, 'a.txt'))?.action, 'modified');
    assert.equal(byItem.get(join(src, 'sub', 'b.bin'))?.action, 'unchanged');
    assert.equal(byItem.get(join(src, 'sub', 'b.bin'))?.data_size, 0, 'an unchanged file adds nothing');
    assert.equal(byItem.get(join(src, 'a.txt'))?.data_size, 'a, changed'.length);
    for (const v of byItem.values()) for (const f of ['duration', 'data_size', 'data_size_in_repo', 'metadata_size', 'metadata_size_in_repo', 'total_files']) assert.ok(f in v, f);
    const changed = byItem.get(join(src, 'a.txt'))!;
    assert.ok((changed.data_size_in_repo as number) > 0, 'a changed file\'s new chunk, as stored (compressed and encrypted)');
    assert.equal(byItem.get(join(src, 'sub', 'b.bin'))?.data_size_in_repo, 0);
    const top = byItem.get(`${src}/`);
    assert.equal(top?.action, 'modified', 'a directory whose file changed');
    assert.ok((top.metadata_size as number) > 0 && (top.metadata_size_in_repo as number) > 0, 'its new tree, plain and stored');
    assert.equal(top.data_size, 0);
    assert.deepEqual(byItem.get(join(src, 'sub') + '/'), { ...byItem.get(join(src, 'sub') + '/'), action: 'unchanged', duration: 0, data_size: 0, data_size_in_repo: 0, metadata_size: 0, metadata_size_in_repo: 0 });
    const scanned = verbose.find((v) => v.action === 'scan_finished');
    assert.equal(scanned?.total_files, 2);
    assert.equal(backupSummary(r).files_changed, 1);
    assert.ok(backupSummary(r).dirs_changed >= 1 && backupSummary(r).dirs_unmodified === 1, 'src (and the directories on the way) changed, sub unmodified');
    await writeFile(join(src, 'new.txt'), 'n');
    await mkdir(join(src, 'newdir'));
    await writeFile(join(src, 'newdir', 'c.txt'), 'c');
    const next = ndjson((await ebak(['backup', src, '--json', '--verbose'], env)).stdout);
    assert.equal(next.find((l) => l.item === join(src, 'new.txt'))?.action, 'new');
    assert.equal(next.find((l) => l.item === join(src, 'newdir') + '/')?.action, 'new');
    await rm(join(src, 'newdir'), { recursive: true });
    await rm(join(src, 'new.txt'));
  });

  it('an entry skipped as unreadable is an error message on stderr, beside its warning', async () => {
    const closed = join(src, 'closed.txt');
    await writeFile(closed, 'secret');
    await chmod(closed, 0o000);
    // As in errors.test.ts: root obeys file modes without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH.
    const prefix = process.getuid?.() === 0 ? ['setpriv', '--bounding-set', '-dac_override,-dac_read_search', '--'] : [];
    const r = await startEbak(['backup', src, '--json'], env, prefix).done.finally(() => chmod(closed, 0o600));
    assert.equal(r.code, 3, r.stderr);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { message_type: string; error: { message: string }; during: string; item: string });
    assert.equal(errors.length, 1, r.stderr);
    assert.equal(errors[0]!.message_type, 'error');
    assert.equal(errors[0]!.item, closed);
    assert.equal(errors[0]!.during, 'archival');
    assert.ok(errors[0]!.error.message.length > 0);
    assert.ok(r.stderr.split('\n').some((l) => l.startsWith('warning: ') && l.includes(closed)), 'the warning stays');
    assert.equal(backupSummary(r).files_unreadable, 1);
  });

  it('--quiet drops the status lines; the summary stays', async () => {
    const r = await ebak(['-q', 'backup', '--json', '--stdin-from-command', '--', 'sh', '-c', 'echo x; sleep 1.5'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(ndjson(r.stdout).map((l) => l.message_type), ['summary']);
  });
});

describe('backup --read-concurrency', () => {
  it('1 and 4 files read at a time give the same snapshot; 0 is refused', async () => {
    const big = join(dir, 'big');
    await mkdir(big);
    for (let i = 0; i < 6; i++) await writeFile(join(big, `f${i}.bin`), randomBytes(1_500_000 + i));
    // Every file read each time (--force); the directories on the way (/tmp) may change between the runs, what is below `big` may not.
    const ids = [];
    for (const n of ['1', '4']) ids.push(backupSummary(await ebak(['backup', big, '--force', '--read-concurrency', n, '--json'], env)).snapshot_id as string);
    const diff = await ebak(['diff', ids[0]!, ids[1]!, '--metadata', '--json'], env);
    assert.equal(diff.code, 0, diff.stderr);
    const changes = ndjson(diff.stdout).filter((l) => l.message_type === 'change' && (l.path as string).startsWith(big));
    assert.deepEqual(changes, [], 'the same files, contents and metadata');
    const stats = ndjson(diff.stdout).find((l) => l.message_type === 'statistics') as { added: { data_blobs: number } };
    assert.equal(stats.added.data_blobs, 0, 'no blob differs');
    assertCode(await ebak(['backup', big, '--read-concurrency', '0', '--json'], env), 1, 'USAGE');
    const fromEnv = await ebak(['backup', big, '--json'], { ...env, EBAK_READ_CONCURRENCY: '3' });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
  });
});
