/**
 * Benchmark: the ebak CLI against a local directory and against S3 (s3rver
 * over HTTPS on this machine) on the same reproducible mixed corpus (see
 * corpus.ts): first backup, unchanged re-backup, restore (verified against
 * the corpus manifest), requests per GiB backed up.
 *
 *   BENCH_DIR=/tmp/ebak-bench-s3  BENCH_SCALE=0.5 (~512 MiB)  BENCH_SEED=ebak-bench-1
 *
 * Run through scripts/bench-s3.sh. s3rver is a Node server sharing the same
 * two cores and writing to the same disk, so the S3 figures measure ebak's
 * S3 path plus that server, not a network: expect real S3 to differ.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ensureCorpus } from './corpus.js';
import { REPO_ROOT } from './tools.js';
import { compareManifests, hashTree } from './verify.js';
import { S3RVER_ENV, startS3rver } from '../test/storage/s3server.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const BIN = join(REPO_ROOT, 'bin', 'ebak');

interface Requests {
  put: number;
  get: number;
  list: number;
  delete: number;
  head: number;
}

interface Row {
  target: 'local' | 's3';
  backupS: number;
  rebackupS: number;
  restoreS: number;
  bytes: number;
  stored: number;
  requests: Requests;
  rebackupRequests: Requests;
}

function ebak(args: string[], env: Record<string, string>): Promise<{ stdout: string; seconds: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve({ stdout, seconds: (performance.now() - t0) / 1000 }) : reject(new Error(`ebak ${args[0]} exited ${code}: ${stderr}`))));
  });
}

const total = (r: Requests) => r.put + r.get + r.list + r.delete + r.head;

async function runTarget(target: Row['target'], location: string, extraEnv: Record<string, string>, work: string, corpusDir: string): Promise<Row> {
  const init = await ebak(['init', '--json'], { EBAK_REPOSITORY: location, ...extraEnv });
  const keyFile = join(work, `${target}.key`);
  writeFileSync(keyFile, (JSON.parse(init.stdout) as { recovery_key: string }).recovery_key + '\n');
  const env = { EBAK_REPOSITORY: location, EBAK_RECOVERY_KEY_FILE: keyFile, ...extraEnv };
  const first = await ebak(['backup', corpusDir, '--json'], env);
  const s1 = JSON.parse(first.stdout) as { total_bytes: number; data_added: number; requests: Requests };
  const again = await ebak(['backup', corpusDir, '--json'], env);
  const s2 = JSON.parse(again.stdout) as { requests: Requests };
  const target_ = join(work, `restore-${target}`);
  const restore = await ebak(['restore', 'latest', '--target', target_], env);
  return { target, backupS: first.seconds, rebackupS: again.seconds, restoreS: restore.seconds, bytes: s1.total_bytes, stored: s1.data_added, requests: s1.requests, rebackupRequests: s2.requests };
}

function table(rows: Row[]): string {
  const rate = (b: number, s: number) => `${(b / MiB / s).toFixed(1)} MiB/s`;
  const lines = [
    '| target | backup | unchanged re-backup | restore | requests (first backup) | requests per GiB | re-backup requests |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const q = r.requests;
    lines.push(
      `| ${r.target} | ${r.backupS.toFixed(1)} s (${rate(r.bytes, r.backupS)}) | ${r.rebackupS.toFixed(1)} s | ${r.restoreS.toFixed(1)} s (${rate(r.bytes, r.restoreS)}) | ` +
        `${total(q)} (PUT ${q.put}, GET ${q.get}, LIST ${q.list}, HEAD ${q.head}, DELETE ${q.delete}) | ${(total(q) / (r.bytes / GiB)).toFixed(0)} | ${total(r.rebackupRequests)} |`,
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const benchDir = process.env.BENCH_DIR ?? '/tmp/ebak-bench-s3';
  const scale = Number(process.env.BENCH_SCALE ?? 0.5);
  mkdirSync(benchDir, { recursive: true });
  const corpus = ensureCorpus(benchDir, { seed: process.env.BENCH_SEED ?? 'ebak-bench-1', scale }, (s) => console.error(s));
  const work = join(benchDir, 'work');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  const server = await startS3rver();
  const rows: Row[] = [];
  try {
    const targets: [Row['target'], string, Record<string, string>][] = [
      ['local', join(work, 'repo-local'), {}],
      ['s3', `s3:${server.endpoint}/bench/repo`, { ...S3RVER_ENV, NODE_EXTRA_CA_CERTS: server.tls.certFile }],
    ];
    for (const [target, location, env] of targets) {
      console.error(`${target}: backup, re-backup, restore of ${(corpus.bytes / MiB).toFixed(0)} MiB`);
      const row = await runTarget(target, location, env, work, corpus.dir);
      const restored = await hashTree(join(work, `restore-${target}`, basename(corpus.dir)));
      const diff = compareManifests(corpus.entries, restored.entries);
      if (diff) throw new Error(`${target}: restore differs from the corpus: ${diff}`);
      rmSync(join(work, `restore-${target}`), { recursive: true, force: true });
      rows.push(row);
    }
  } finally {
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const md = `Corpus: ${corpus.files} files, ${(corpus.bytes / MiB).toFixed(0)} MiB (scale ${scale}); restores verified against its manifest.\n\n${table(rows)}\n`;
  writeFileSync(join(benchDir, 'results-s3.md'), md);
  writeFileSync(join(benchDir, 'results-s3.json'), JSON.stringify({ scale, files: corpus.files, bytes: corpus.bytes, rows }, null, 2));
  console.log(md);
}

await main();
