/**
 * Progress of long commands: the line builders (src/cli/progress.ts) as
 * functions, then the real CLI on a pseudo-terminal (util-linux `script`):
 * backup, restore, check --read-data, prune and copy draw progress lines on
 * a terminal, and neither --json nor --quiet draws any.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { randomBytes } from 'node:crypto';
import { backupLine, backupStatus, countLine, fraction, restoreLine, secondsLeft } from '../../src/cli/progress.js';
import { BIN, ndjson, newRepo, tempDir } from './harness.js';

const p = (files: number, bytes: number, errors = 0, current: string[] = []) => ({ files, bytes, errors, current });

describe('progress line builders', () => {
  it('backup: a percent from the start, of the total the scan has found so far; an ETA once it is final', () => {
    const growing = backupLine(p(1, 1024), { files: 4, bytes: 4096, done: false }, 2000);
    assert.match(growing, /25\.0% of ≥4\.00 KiB in 4 files/);
    assert.ok(!growing.includes('ETA'), growing);
    const final = backupLine(p(2, 2048), { files: 4, bytes: 4096, done: true }, 2000);
    assert.match(final, /50\.0% of 4\.00 KiB in 4 files, ETA 2s/);
    assert.match(backupLine(p(5, 8192), { files: 4, bytes: 4096, done: false }, 2000), /100\.0% of ≥8\.00 KiB in 5 files/, 'the total is never below what is done');
    assert.match(backupLine(p(1, 1), { files: 1, bytes: 1, done: true }, 2000, ), /^1 files, 1 B/);
    assert.match(backupLine(p(1, 10, 2), { files: 1, bytes: 20, done: true }, 2000), /2 errors$/);
  });

  it('backup --json status: restic\'s fields, percent_done a fraction, seconds_remaining once the scan is final', () => {
    const s = backupStatus(p(3, 300, 1, ['/a']), { files: 10, bytes: 1000, done: false }, 2500);
    assert.deepEqual(s, { message_type: 'status', seconds_elapsed: 2, percent_done: 0.3, total_files: 10, files_done: 3, total_bytes: 1000, bytes_done: 300, error_count: 1, current_files: ['/a'] });
    assert.equal(backupStatus(p(3, 250), { files: 10, bytes: 1000, done: true }, 2000).seconds_remaining, 6);
    assert.equal(backupStatus(p(0, 0), { files: 0, bytes: 0, done: false }, 0).percent_done, 0);
  });

  it('restore: the percent of the snapshot size when known; check and copy: done/total', () => {
    assert.match(restoreLine({ files: 1, bytes: 512 }, 2048, 1000), /25\.0% of 2\.00 KiB, ETA 3s$/);
    assert.doesNotMatch(restoreLine({ files: 1, bytes: 512 }, undefined, 1000), /%/);
    assert.equal(countLine('packs', 3, 12), 'packs 3/12 (25.0%)');
    assert.equal(fraction(5, 0), 0);
    assert.equal(secondsLeft(1, 10, 500), undefined, 'no ETA in the first second');
  });
});

/** Runs the CLI on a pseudo-terminal (stdout and stderr both on it); returns what the terminal received. */
function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number; screen: string }> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, EBAK_NO_CACHE: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let screen = '';
    child.stdout.on('data', (d) => (screen += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, screen }));
  });
}

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('progress on a terminal', { skip: !hasScript && 'util-linux script is not installed' }, async () => {
  const dir = await tempDir('ebak-progress-');
  const { env } = await newRepo(dir);
  const src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'big.bin'), randomBytes(6 << 20));
  await writeFile(join(src, 'small.txt'), 'small');
  const DRAW = '\r\x1b[K';

  it('backup draws progress lines with a percent; restore with the percent of the snapshot; check --read-data counts packs', async () => {
    const b = await onTerminal(['--limit-upload', '4096', 'backup', src], env);
    assert.equal(b.code, 0, b.screen);
    assert.ok(b.screen.includes(DRAW), b.screen);
    assert.match(b.screen, /\d+\.\d% of/);
    const r = await onTerminal(['--limit-download', '4096', 'restore', 'latest', '--target', join(dir, 'out')], env);
    assert.equal(r.code, 0, r.screen);
    assert.match(r.screen, /\d+\.\d% of 6\.00 MiB/);
    const c = await onTerminal(['--limit-download', '4096', 'check', '--read-data'], env);
    assert.equal(c.code, 0, c.screen);
    assert.match(c.screen, /reading packs \d+\/\d+/);
  });

  it('prune and copy draw their progress lines on a terminal', async () => {
    const f = await onTerminal(['forget', '--keep-last', '1'], env);
    assert.equal(f.code, 0, f.screen);
    const p = await onTerminal(['prune'], env);
    assert.equal(p.code, 0, p.screen);
    assert.ok(p.screen.includes(DRAW), p.screen);
    assert.match(p.screen, /\r\x1b\[Kloading index files/);
    const target = { EBAK_REPOSITORY: join(dir, 'copy'), EBAK_PASSWORD: 'target', EBAK_TEST_FAST_KDF: '1' };
    assert.equal((await onTerminal(['init'], target)).code, 0);
    const c = await onTerminal(['copy', '--from-repo', env.EBAK_REPOSITORY!], { ...target, EBAK_FROM_PASSWORD: env.EBAK_PASSWORD! });
    assert.equal(c.code, 0, c.screen);
    assert.ok(c.screen.includes(DRAW), c.screen);
    assert.match(c.screen, /snapshots \d+\/\d+/);
  });

  it('--json and --quiet draw none: the terminal gets JSON lines, or nothing', async () => {
    const j = await onTerminal(['--limit-upload', '4096', 'backup', src, '--force', '--json'], env);
    assert.equal(j.code, 0, j.screen);
    assert.ok(!j.screen.includes('\x1b['), j.screen);
    assert.equal(ndjson(j.screen.replace(/\r/g, '')).at(-1)!.message_type, 'summary');
    const q = await onTerminal(['-q', 'backup', src, '--force'], env);
    assert.equal(q.code, 0, q.screen);
    assert.ok(!q.screen.includes('\x1b['), q.screen);
    const rq = await onTerminal(['-q', 'restore', 'latest', '--target', join(dir, 'out-q')], env);
    assert.equal(rq.screen.replace(/\s/g, ''), '');
  });
});
