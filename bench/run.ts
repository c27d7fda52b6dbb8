/**
 * The side-by-side benchmark (`npm run bench` → scripts/bench.sh → here): ebak,
 * restic and borg each back up the same corpus, back it up again unchanged, and
 * restore it into an empty directory. Every timed phase starts with the page
 * cache dropped (where the kernel allows), each restore is verified byte for byte
 * outside the timing, and a tool that fails is reported as failed while the others
 * go on. Writes BENCH_DIR/results.md and results.json and prints the markdown.
 *
 * Environment: BENCH_DIR (default /tmp/ebak-bench), BENCH_SCALE (default 1),
 * BENCH_SEED (default ebak-bench-1), BENCH_TOOLS (default ebak,restic,borg),
 * BENCH_KEEP=1 keeps the repositories afterwards, BENCH_MERGE=1 keeps the figures of
 * tools not run this time from the previous results.json (same corpus digest only).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { ensureCorpus, type Corpus } from './corpus.js';
import { dropCaches, duBytes, measure } from './measure.js';
import { computeRatios, renderMarkdown, type Phase, type PhaseResult, type Results, type ToolResult } from './report.js';
import { makeTool, parseToolList, TOOL_NAMES, type Tool, type ToolName } from './tools.js';
import { compareManifests, hashTree } from './verify.js';

interface Config {
  benchDir: string;
  scale: number;
  seed: string;
  tools: ToolName[];
  keep: boolean;
  merge: boolean;
}

function config(env: NodeJS.ProcessEnv): Config {
  return {
    benchDir: resolve(env.BENCH_DIR ?? '/tmp/ebak-bench'),
    scale: Number(env.BENCH_SCALE ?? '1'),
    seed: env.BENCH_SEED ?? 'ebak-bench-1',
    tools: parseToolList(env.BENCH_TOOLS ?? TOOL_NAMES.join(',')),
    keep: env.BENCH_KEEP === '1',
    merge: env.BENCH_MERGE === '1',
  };
}

const log = (s: string): void => console.error(`[bench] ${s}`);

/** Where a tool put the restored corpus: target/corpus, or the full absolute path under target. */
function restoredRoot(target: string, corpusDir: string): string {
  for (const candidate of [join(target, 'corpus'), join(target, corpusDir)]) {
    if (existsSync(candidate) && statSync(candidate).isDirectory()) return candidate;
  }
  return target;
}

async function verifyRestore(target: string, corpus: Corpus): Promise<string | null> {
  const root = restoredRoot(target, corpus.dir);
  const { entries, other } = await hashTree(root);
  if (other.length > 0) return `unexpected non-regular file ${other[0]}`;
  return compareManifests(corpus.entries, entries);
}

/** Runs one timed phase; throws (with the tool's stderr) when the tool fails. */
async function timedPhase(
  tool: Tool, phase: Phase, argv: string[], cwd: string, corpus: Corpus, cacheDropped: boolean,
): Promise<PhaseResult> {
  if (cacheDropped) await dropCaches();
  const loadAverage = loadavg()[0]!;
  log(`${tool.name}: ${phase} ...`);
  const m = await measure(argv, { cwd, env: tool.env });
  if (m.exitCode !== 0) {
    throw new Error(`${phase}: ${argv[0]} exited ${m.exitCode}: ${m.stderrTail.trim().split('\n').slice(-3).join(' / ')}`);
  }
  const base = {
    phase, ok: true, wallSeconds: m.wallSeconds, mbPerSec: corpus.bytes / m.wallSeconds / 1e6,
    cpuSeconds: m.cpuSeconds, peakRssBytes: m.peakRssBytes, timeMaxRssBytes: m.timeMaxRssBytes, sampledTreeRssBytes: m.sampledTreeRssBytes,
    loadAverage,
  };
  log(`${tool.name}: ${phase}: ${m.wallSeconds.toFixed(2)} s, ${base.mbPerSec.toFixed(1)} MB/s, CPU ${m.cpuSeconds.toFixed(1)} s, ` +
      `peak RSS ${(m.peakRssBytes / 2 ** 20).toFixed(1)} MiB`);
  if (phase === 'restore') return base;
  return { ...base, repoBytes: await duBytes(tool.repo), cacheBytes: existsSync(tool.cacheDir) ? await duBytes(tool.cacheDir) : 0 };
}

function failedPhase(phase: Phase, error: string): PhaseResult {
  return { phase, ok: false, error, wallSeconds: 0, mbPerSec: 0, cpuSeconds: 0, peakRssBytes: 0, timeMaxRssBytes: 0, sampledTreeRssBytes: 0, loadAverage: loadavg()[0]! };
}

async function benchTool(name: ToolName, cfg: Config, corpus: Corpus, cacheDropped: boolean): Promise<ToolResult> {
  const state = join(cfg.benchDir, 'state', name);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  const tool = makeTool(name, state);
  const phases: PhaseResult[] = [];
  let version: string | undefined;
  let snapshots: number | undefined;
  let current: Phase = 'first backup';
  const result = (error?: string): ToolResult => ({
    tool: name, ok: !error && phases.every((p) => p.ok), settings: tool.settings, phases,
    ...(error ? { error } : {}), ...(version ? { version } : {}), ...(snapshots !== undefined ? { snapshots } : {}),
  });
  try {
    version = await tool.version();
    await tool.init();
    phases.push(await timedPhase(tool, current, tool.backupArgv(1), cfg.benchDir, corpus, cacheDropped));
    current = 'unchanged re-backup';
    phases.push(await timedPhase(tool, current, tool.backupArgv(2), cfg.benchDir, corpus, cacheDropped));
    snapshots = await tool.snapshotCount();
    current = 'restore';
    const target = join(state, 'restore');
    mkdirSync(target);
    const r = tool.restore(target, 2);
    const restored = await timedPhase(tool, current, r.argv, r.cwd, corpus, cacheDropped);
    log(`${name}: verifying the restore ...`);
    const mismatch = await verifyRestore(target, corpus);
    phases.push(mismatch ? { ...restored, ok: false, verified: false, error: `restore differs: ${mismatch}` } : { ...restored, verified: true });
    rmSync(target, { recursive: true, force: true });
    return result();
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    log(`${name}: FAILED: ${error}`);
    if (phases.length > 0 || version) phases.push(failedPhase(current, error));
    return result(error);
  } finally {
    if (!cfg.keep) rmSync(state, { recursive: true, force: true });
  }
}

/** Results of tools not run now, from a previous run on the same corpus (BENCH_MERGE=1). */
function previousResults(cfg: Config, corpus: Corpus): ToolResult[] {
  const file = join(cfg.benchDir, 'results.json');
  if (!cfg.merge || !existsSync(file)) return [];
  const old = JSON.parse(readFileSync(file, 'utf8')) as Results;
  if (old.corpus.digest !== corpus.digest) {
    log('BENCH_MERGE: previous results.json is for another corpus; not merging');
    return [];
  }
  const kept = old.tools.filter((t) => !cfg.tools.includes(t.tool as ToolName));
  log(`BENCH_MERGE: keeping ${kept.map((t) => t.tool).join(',') || 'nothing'} from ${old.date}`);
  return kept;
}

async function main(): Promise<void> {
  const cfg = config(process.env);
  mkdirSync(cfg.benchDir, { recursive: true });
  log(`dir ${cfg.benchDir}, scale ${cfg.scale}, seed ${cfg.seed}, tools ${cfg.tools.join(',')}`);
  const corpus = ensureCorpus(cfg.benchDir, { seed: cfg.seed, scale: cfg.scale }, log);
  const cacheDropped = await dropCaches();
  if (!cacheDropped) log('cannot drop the page cache here (no permission): all tools run with a warm cache');
  const tools = previousResults(cfg, corpus);
  for (const name of cfg.tools) tools.push(await benchTool(name, cfg, corpus, cacheDropped));
  tools.sort((a, b) => TOOL_NAMES.indexOf(a.tool as ToolName) - TOOL_NAMES.indexOf(b.tool as ToolName));
  const { seed, scale, files, bytes, digest, composition } = corpus;
  const results: Results = {
    date: new Date().toISOString(),
    host: {
      cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length,
      memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.versions.node,
    },
    benchDir: cfg.benchDir,
    corpus: { seed, scale, files, bytes, digest, composition },
    cacheDropped,
    tools,
    ratios: computeRatios(tools),
  };
  const md = renderMarkdown(results);
  writeFileSync(join(cfg.benchDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(cfg.benchDir, 'results.md'), md);
  process.stdout.write(md);
  log(`wrote ${join(cfg.benchDir, 'results.md')} and results.json`);
}

main().catch((e: unknown) => {
  console.error(`[bench] ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
