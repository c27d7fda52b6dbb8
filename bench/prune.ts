/**
 * Prune, ebak beside restic, on the same data (issue 15's benchmark): the
 * history of bench/prune-history.ts (bulk rounds of new small files, one blob
 * each, each followed by more snapshots of the round), then `forget
 * --keep-last KEEP --group-by host` (untimed), then `prune` timed under GNU
 * time with its peak RSS, then each tool's `check` (untimed, must pass).
 * Parametrised by the environment:
 *   BENCH_SCALE=full (default): the size, 10,000 snapshots in 100 rounds of
 *     10,000 new files (1,000,000 file blobs), the extra snapshots as copies, keep 2,000;
 *   BENCH_SCALE=small: 200 snapshots in 10 rounds of 1,000 files, the extra ones tiny
 *     stdin backups, keep 100 (the earlier figures' shape);
 *   each part can be set on top of either:
 *   BENCH_PRUNE_SNAPSHOTS  BENCH_PRUNE_ROUNDS  BENCH_PRUNE_FILES (new files per round)
 *   BENCH_PRUNE_KEEP  BENCH_PRUNE_EXTRA=copies|stdin  BENCH_PRUNE_FILE_BYTES=512
 *   BENCH_PRUNE_PARALLEL=2 (restic stdin backups at once)
 *   BENCH_DIR=/tmp/ebak-bench  BENCH_SEED=ebak-bench-1  BENCH_TOOLS=ebak,restic
 *   BENCH_PRUNE_CORPUS_DIR=/dev/shm/ebak-bench-prune (the file window; tmpfs)
 *   BENCH_PRUNE_BUILD=0: no set-up; forget and prune the histories a stopped run left in BENCH_DIR
 *     (stopped between two bulk rounds, so both tools hold the same snapshots; the table counts them)
 *   BENCH_PRUNE_RUN=0: build the history only, so that hard-linked copies of it (`cp -al`) can be
 *     pruned by one build after another with BENCH_PRUNE_BUILD=0 and BENCH_DIR at the copy
 * Prints a markdown table and writes $BENCH_DIR/prune/results.json.
 *   npx tsc -p . && node dist/bench/prune.js   (scripts/bench-prune.sh)
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { duBytes, measure, run, type Measurement } from './measure.js';
import { buildHistory, type HistoryParams } from './prune-history.js';
import { makeTool, parseToolList, REPO_ROOT, type Tool } from './tools.js';

const EBAK = join(REPO_ROOT, 'bin', 'ebak');

interface Params extends HistoryParams {
  readonly keep: number;
  readonly build: boolean;
  readonly prune: boolean;
}

interface Row {
  tool: string;
  version: string;
  snapshotsBefore: number;
  snapshotsAfter: number;
  /** The 1, 5 and 15 minute load averages as its prune started. */
  load: string;
  repoBytesBefore: number;
  repoBytesAfter: number;
  prune: Measurement;
}

/** The sizes BENCH_SCALE names: the issue's, and a quick one. */
const SCALES: Record<string, { snapshots: number; rounds: number; files: number; keepShare: number; extra: Params['extra'] }> = {
  full: { snapshots: 10_000, rounds: 100, files: 10_000, keepShare: 0.2, extra: 'copies' },
  small: { snapshots: 200, rounds: 10, files: 1000, keepShare: 0.5, extra: 'stdin' },
};

function params(env: NodeJS.ProcessEnv): Params {
  const int = (name: string, fallback: number) => {
    const v = env[name] === undefined ? fallback : Number(env[name]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number, got ${env[name]}`);
    return v;
  };
  const scale = SCALES[env.BENCH_SCALE ?? 'full'];
  if (scale === undefined) throw new Error(`BENCH_SCALE must be ${Object.keys(SCALES).join(' or ')}, got ${env.BENCH_SCALE}`);
  const extra = env.BENCH_PRUNE_EXTRA ?? scale.extra;
  if (extra !== 'copies' && extra !== 'stdin') throw new Error(`BENCH_PRUNE_EXTRA must be copies or stdin, got ${extra}`);
  const snapshots = int('BENCH_PRUNE_SNAPSHOTS', scale.snapshots);
  return {
    dir: join(env.BENCH_DIR ?? '/tmp/ebak-bench', 'prune'),
    corpusDir: env.BENCH_PRUNE_CORPUS_DIR ?? '/dev/shm/ebak-bench-prune',
    seed: env.BENCH_SEED ?? 'ebak-bench-1',
    snapshots,
    rounds: int('BENCH_PRUNE_ROUNDS', scale.rounds),
    filesPerRound: int('BENCH_PRUNE_FILES', scale.files),
    fileBytes: int('BENCH_PRUNE_FILE_BYTES', 512),
    parallel: int('BENCH_PRUNE_PARALLEL', 2),
    extra,
    keep: int('BENCH_PRUNE_KEEP', Math.max(1, Math.floor(snapshots * scale.keepShare))),
    build: env.BENCH_PRUNE_BUILD !== '0',
    prune: env.BENCH_PRUNE_RUN !== '0',
  };
}

function pruneArgv(t: Tool): string[] {
  return t.name === 'ebak' ? [EBAK, 'prune'] : ['restic', 'prune', '--repo', t.repo];
}

function checkArgv(t: Tool): string[] {
  return t.name === 'ebak' ? [EBAK, 'check'] : ['restic', 'check', '--repo', t.repo];
}

function forgetArgv(t: Tool, keep: number): string[] {
  const policy = ['--keep-last', String(keep), '--group-by', 'host'];
  return t.name === 'ebak' ? [EBAK, 'forget', ...policy] : ['restic', 'forget', '--repo', t.repo, ...policy];
}

async function pruneRow(t: Tool, p: Params): Promise<Row> {
  const snapshotsBefore = await t.snapshotCount();
  await run(forgetArgv(t, p.keep), { cwd: p.dir, env: t.env });
  const repoBytesBefore = await duBytes(t.repo);
  const load = loadavg().map((l) => l.toFixed(1)).join(' ');
  const prune = await measure(pruneArgv(t), { cwd: p.dir, env: t.env });
  if (prune.exitCode !== 0) throw new Error(`${t.name} prune failed: ${prune.stderrTail}`);
  const repoBytesAfter = await duBytes(t.repo);
  await run(checkArgv(t), { cwd: p.dir, env: t.env });
  return { tool: t.name, version: await t.version(), snapshotsBefore, snapshotsAfter: await t.snapshotCount(), load, repoBytesBefore, repoBytesAfter, prune };
}

const mib = (n: number) => (n / 2 ** 20).toFixed(1);

function table(rows: Row[], p: Params): string {
  const lines = [
    p.build
      ? `prune after forget --keep-last ${p.keep} --group-by host of ${p.snapshots} snapshots: ${p.rounds} bulk backups adding ${p.filesPerRound} files of ${p.fileBytes} B each ` +
        `(${p.rounds * p.filesPerRound} file blobs), each followed by ${p.snapshots / p.rounds - 1} ${p.extra === 'copies' ? "copies of the round's snapshot" : 'tiny stdin backups'} (seed ${p.seed}); both checks pass after`
      : `prune after forget --keep-last ${p.keep} --group-by host of the histories a stopped run left (${p.filesPerRound} files of ${p.fileBytes} B per bulk round, seed ${p.seed})`,
    '',
    '| tool | version | snapshots before | after | wall s | CPU s | peak RSS MiB | repo MiB before | after | load average (1, 5, 15 min) |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows)
    lines.push(`| ${r.tool} | ${r.version} | ${r.snapshotsBefore} | ${r.snapshotsAfter} | ${r.prune.wallSeconds.toFixed(2)} | ${r.prune.cpuSeconds.toFixed(2)} | ${mib(r.prune.peakRssBytes)} | ${mib(r.repoBytesBefore)} | ${mib(r.repoBytesAfter)} | ${r.load} |`);
  return lines.join('\n');
}

async function build(tools: Tool[], p: Params, log: (s: string) => void): Promise<void> {
  rmSync(p.dir, { recursive: true, force: true });
  for (const t of tools) mkdirSync(join(p.dir, t.name), { recursive: true });
  for (const t of tools) await t.init();
  log(`${p.snapshots} snapshots, ${p.rounds} rounds of ${p.filesPerRound} files, with ${tools.map((t) => t.name).join(' and ')}`);
  await buildHistory(tools, p, log);
}

async function main(): Promise<void> {
  const p = params(process.env);
  const log = (s: string) => process.stderr.write(`bench prune: ${s}\n`);
  const tools = parseToolList(process.env.BENCH_TOOLS ?? 'ebak,restic').filter((n) => n !== 'borg').map((n) => makeTool(n, join(p.dir, n)));
  if (p.build) await build(tools, p, log);
  if (!p.prune) {
    log(`history built in ${p.dir}; not pruned (BENCH_PRUNE_RUN=0)`);
    return;
  }
  const rows: Row[] = [];
  for (const t of tools) {
    rows.push(await pruneRow(t, p));
    log(`${t.name} prune: ${rows.at(-1)!.prune.wallSeconds.toFixed(1)} s`);
  }
  const md = table(rows, p);
  writeFileSync(join(p.dir, 'results.json'), JSON.stringify({ params: p, rows: rows.map(({ prune, ...r }) => ({ ...r, prune: { ...prune, stdout: undefined } })) }, null, 2));
  process.stdout.write(`${md}\n`);
}

await main();
