/**
 * Prune, ebak beside restic, on the same data (issue 15's benchmark): a
 * corpus of small files (one blob each), backed up by each tool once per
 * snapshot with a seeded share of the files rewritten before each, then
 * `forget --keep-last KEEP` (untimed), then `prune` timed under GNU time
 * with its peak RSS. Parametrised by the environment; the issue's size is
 * BENCH_PRUNE_SNAPSHOTS=10000 BENCH_PRUNE_FILES=100000 BENCH_PRUNE_CHANGED=90
 * (about 1,000,000 blobs: hours of backups, so run it on purpose).
 *   BENCH_DIR=/tmp/ebak-bench  BENCH_SEED=ebak-bench-1  BENCH_TOOLS=ebak,restic
 *   BENCH_PRUNE_SNAPSHOTS=20  BENCH_PRUNE_FILES=2000  BENCH_PRUNE_CHANGED=files/10
 *   BENCH_PRUNE_KEEP=snapshots/2  BENCH_PRUNE_FILE_BYTES=2048
 * Prints a markdown table and writes $BENCH_DIR/prune/results.json.
 *   npx tsc -p . && node dist/bench/prune.js
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { duBytes, measure, run, type Measurement } from './measure.js';
import { Keystream, Prng } from './random.js';
import { makeTool, parseToolList, REPO_ROOT, type Tool } from './tools.js';

const EBAK = join(REPO_ROOT, 'bin', 'ebak');

interface Params {
  dir: string;
  seed: string;
  snapshots: number;
  files: number;
  changed: number;
  keep: number;
  fileBytes: number;
}

interface Row {
  tool: string;
  version: string;
  snapshotsBefore: number;
  repoBytesBefore: number;
  repoBytesAfter: number;
  prune: Measurement;
}

function params(env: NodeJS.ProcessEnv): Params {
  const int = (name: string, fallback: number) => {
    const v = env[name] === undefined ? fallback : Number(env[name]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number, got ${env[name]}`);
    return v;
  };
  const snapshots = int('BENCH_PRUNE_SNAPSHOTS', 20);
  const files = int('BENCH_PRUNE_FILES', 2000);
  return {
    dir: join(env.BENCH_DIR ?? '/tmp/ebak-bench', 'prune'),
    seed: env.BENCH_SEED ?? 'ebak-bench-1',
    snapshots,
    files,
    changed: int('BENCH_PRUNE_CHANGED', Math.ceil(files / 10)),
    keep: int('BENCH_PRUNE_KEEP', Math.max(1, Math.floor(snapshots / 2))),
    fileBytes: int('BENCH_PRUNE_FILE_BYTES', 2048),
  };
}

/** File i of the corpus: 100 files per directory. */
const filePath = (corpus: string, i: number) => join(corpus, `d${Math.floor(i / 100)}`, `f${i}`);

function writeCorpus(corpus: string, p: Params, bytes: Keystream): void {
  for (let d = 0; d * 100 < p.files; d++) mkdirSync(join(corpus, `d${d}`), { recursive: true });
  for (let i = 0; i < p.files; i++) writeFileSync(filePath(corpus, i), bytes.take(p.fileBytes));
}

function pruneArgv(t: Tool): string[] {
  return t.name === 'ebak' ? [EBAK, 'prune'] : ['restic', 'prune', '--repo', t.repo];
}

function forgetArgv(t: Tool, keep: number): string[] {
  return t.name === 'ebak' ? [EBAK, 'forget', '--keep-last', String(keep)] : ['restic', 'forget', '--repo', t.repo, '--keep-last', String(keep)];
}

/** Backs up the corpus `p.snapshots` times with every tool, rewriting `p.changed` seeded files before each but the first. */
async function buildHistories(tools: Tool[], p: Params, log: (s: string) => void): Promise<void> {
  const corpus = join(p.dir, 'corpus');
  const choose = new Prng(p.seed, 'prune-changes');
  const bytes = new Keystream(p.seed, 'prune-bytes');
  writeCorpus(corpus, p, bytes);
  for (const t of tools) await t.init();
  for (let n = 1; n <= p.snapshots; n++) {
    if (n > 1) for (let c = 0; c < p.changed; c++) writeFileSync(filePath(corpus, choose.below(p.files)), bytes.take(p.fileBytes));
    for (const t of tools) await run(t.backupArgv(n), { cwd: p.dir, env: t.env });
    if (n % 10 === 0 || n === p.snapshots) log(`${n}/${p.snapshots} snapshots`);
  }
}

async function pruneRow(t: Tool, p: Params): Promise<Row> {
  const snapshotsBefore = await t.snapshotCount();
  await run(forgetArgv(t, p.keep), { cwd: p.dir, env: t.env });
  const repoBytesBefore = await duBytes(t.repo);
  const prune = await measure(pruneArgv(t), { cwd: p.dir, env: t.env });
  if (prune.exitCode !== 0) throw new Error(`${t.name} prune failed: ${prune.stderrTail}`);
  return { tool: t.name, version: await t.version(), snapshotsBefore, repoBytesBefore, repoBytesAfter: await duBytes(t.repo), prune };
}

const mib = (n: number) => (n / 2 ** 20).toFixed(1);

function table(rows: Row[], p: Params): string {
  const lines = [
    `prune after forget --keep-last ${p.keep} of ${p.snapshots} snapshots; ${p.files} files of ${p.fileBytes} B, ${p.changed} rewritten per snapshot (seed ${p.seed})`,
    '',
    '| tool | version | wall s | CPU s | peak RSS MiB | repo MiB before | after |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const r of rows)
    lines.push(`| ${r.tool} | ${r.version} | ${r.prune.wallSeconds.toFixed(2)} | ${r.prune.cpuSeconds.toFixed(2)} | ${mib(r.prune.peakRssBytes)} | ${mib(r.repoBytesBefore)} | ${mib(r.repoBytesAfter)} |`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const p = params(process.env);
  const log = (s: string) => process.stderr.write(`bench prune: ${s}\n`);
  rmSync(p.dir, { recursive: true, force: true });
  mkdirSync(p.dir, { recursive: true });
  const tools = parseToolList(process.env.BENCH_TOOLS ?? 'ebak,restic').filter((n) => n !== 'borg').map((n) => makeTool(n, join(p.dir, n)));
  for (const t of tools) mkdirSync(join(p.dir, t.name), { recursive: true });
  log(`${p.snapshots} snapshots of ${p.files} files with ${tools.map((t) => t.name).join(' and ')}`);
  await buildHistories(tools, p, log);
  const rows: Row[] = [];
  for (const t of tools) rows.push(await pruneRow(t, p));
  const md = table(rows, p);
  writeFileSync(join(p.dir, 'results.json'), JSON.stringify({ params: p, rows: rows.map(({ prune, ...r }) => ({ ...r, prune: { ...prune, stdout: undefined } })) }, null, 2));
  process.stdout.write(`${md}\n`);
}

await main();
