/**
 * The side-by-side benchmark (`npm run bench` → scripts/bench.sh → here): ebak,
 * restic and borg each back up the same corpus, back it up again unchanged, and
 * restore it into an empty directory. Every timed phase starts with the page
 * cache dropped (where the kernel allows), each restore is verified byte for byte
 * outside the timing, and a tool that fails is reported as failed while the others
 * go on. Three suites, each written to its own results file and printed:
 *   generated  the reproducible generated corpus (corpus.ts), local repositories: results.md/json
 *   real       the machine's own system files (real.ts), local repositories: results-real.md/json
 *   s3         the real files against s3rver over TLS on loopback, ebak and restic (borg has
 *              no S3): results-s3.md/json; after the timed phases, one more unchanged re-backup
 *              (untimed) goes through a counting proxy for its GET requests.
 *
 * Environment: BENCH_DIR (default /tmp/ebak-bench), BENCH_SCALE (default 1),
 * BENCH_SUITES (default generated,real,s3),
 * BENCH_SEED (default ebak-bench-1), BENCH_TOOLS (default ebak,restic,borg),
 * BENCH_KEEP=1 keeps the repositories afterwards, BENCH_MERGE=1 keeps the figures of
 * tools not run this time from the previous results.json (same corpus digest only).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { ensureCorpus, type Corpus } from './corpus.js';
import { dropCaches, duBytes, measure, run } from './measure.js';
import { ensureRealCorpus } from './real.js';
import { computeRatios, renderMarkdown, type Phase, type PhaseResult, type Results, type ToolResult } from './report.js';
import { makeTool, parseToolList, TOOL_NAMES, type Remote, type Tool, type ToolName } from './tools.js';
import { S3Proxy } from '../test/storage/proxy.js';
import { S3RVER_ENV, startS3rver } from '../test/storage/s3server.js';
import { compareManifests, hashTree } from './verify.js';

interface Config {
  benchDir: string;
  scale: number;
  seed: string;
  tools: ToolName[];
  keep: boolean;
  merge: boolean;
  suites: Suite[];
}

const SUITES = ['generated', 'real', 's3'] as const;
type Suite = (typeof SUITES)[number];

function parseSuites(text: string): Suite[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!SUITES.includes(n as Suite)) throw new Error(`BENCH_SUITES: unknown suite "${n}" (use ${SUITES.join(',')})`);
  return names as Suite[];
}

/** The S3 suite's server: tools time against `remote`; the counted re-backup goes through `counting` (the proxy). */
interface S3Setup {
  readonly remote: Remote;
  readonly counting: Remote;
  readonly proxy: S3Proxy;
}

function config(env: NodeJS.ProcessEnv): Config {
  return {
    benchDir: resolve(env.BENCH_DIR ?? '/tmp/ebak-bench'),
    scale: Number(env.BENCH_SCALE ?? '1'),
    seed: env.BENCH_SEED ?? 'ebak-bench-1',
    tools: parseToolList(env.BENCH_TOOLS ?? TOOL_NAMES.join(',')),
    keep: env.BENCH_KEEP === '1',
    merge: env.BENCH_MERGE === '1',
    suites: parseSuites(env.BENCH_SUITES ?? SUITES.join(',')),
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

/** GET requests the server saw during one more (untimed) unchanged backup through the counting proxy. */
async function countedRebackupGets(name: ToolName, state: string, s3: S3Setup, cwd: string): Promise<number> {
  const counted = makeTool(name, state, s3.counting);
  s3.proxy.reset();
  await run(counted.backupArgv(3), { cwd, env: counted.env });
  const gets = s3.proxy.requests.filter((r) => r.method === 'GET').length;
  s3.proxy.reset();
  return gets;
}

async function benchTool(name: ToolName, cfg: Config, corpus: Corpus, cacheDropped: boolean, suite: Suite, s3?: S3Setup): Promise<ToolResult> {
  const state = join(cfg.benchDir, 'state', `${suite}-${name}`);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  const tool = makeTool(name, state, s3?.remote);
  const cwd = dirname(corpus.dir);
  let rebackupGets: number | undefined;
  const phases: PhaseResult[] = [];
  let version: string | undefined;
  let snapshots: number | undefined;
  let current: Phase = 'first backup';
  const result = (error?: string): ToolResult => ({
    tool: name, ok: !error && phases.every((p) => p.ok), settings: tool.settings, phases,
    ...(error ? { error } : {}), ...(version ? { version } : {}), ...(snapshots !== undefined ? { snapshots } : {}),
    ...(rebackupGets !== undefined ? { rebackupGets } : {}),
  });
  try {
    version = await tool.version();
    await tool.init();
    phases.push(await timedPhase(tool, current, tool.backupArgv(1), cwd, corpus, cacheDropped));
    current = 'unchanged re-backup';
    phases.push(await timedPhase(tool, current, tool.backupArgv(2), cwd, corpus, cacheDropped));
    if (s3) rebackupGets = await countedRebackupGets(name, state, s3, cwd);
    snapshots = await tool.snapshotCount();
    current = 'restore';
    const target = join(state, 'restore');
    mkdirSync(target);
    const r = tool.restore(target, snapshots);
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
function previousResults(cfg: Config, corpus: Corpus, file: string): ToolResult[] {
  if (!cfg.merge || !existsSync(file)) return [];
  const old = JSON.parse(readFileSync(file, 'utf8')) as Results;
  if (old.corpus.digest !== corpus.digest) {
    log('BENCH_MERGE: previous results are for another corpus; not merging');
    return [];
  }
  const kept = old.tools.filter((t) => !cfg.tools.includes(t.tool as ToolName));
  log(`BENCH_MERGE: keeping ${kept.map((t) => t.tool).join(',') || 'nothing'} from ${old.date}`);
  return kept;
}

const LABEL: Record<Suite, string> = { generated: 'generated corpus, local repositories', real: 'real files, local repositories', s3: 'real files, S3 (s3rver over TLS on loopback)' };
const RESULTS: Record<Suite, string> = { generated: 'results', real: 'results-real', s3: 'results-s3' };

/** One suite: every tool on `corpus`, written to its results files and printed. */
async function runSuite(cfg: Config, suite: Suite, corpus: Corpus, cacheDropped: boolean, s3?: S3Setup): Promise<void> {
  const file = join(cfg.benchDir, `${RESULTS[suite]}.json`);
  const tools = previousResults(cfg, corpus, file);
  for (const name of cfg.tools) {
    if (s3 && name === 'borg') continue;
    tools.push(await benchTool(name, cfg, corpus, cacheDropped, suite, s3));
  }
  tools.sort((a, b) => TOOL_NAMES.indexOf(a.tool as ToolName) - TOOL_NAMES.indexOf(b.tool as ToolName));
  const { seed, scale, files, bytes, digest, composition } = corpus;
  const results: Results = {
    label: LABEL[suite],
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
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(join(cfg.benchDir, `${RESULTS[suite]}.md`), md);
  process.stdout.write(md + '\n');
  log(`wrote ${join(cfg.benchDir, `${RESULTS[suite]}.md`)} and .json`);
}

/** Runs `fn` with s3rver over TLS and a counting proxy in front of it, both on loopback. */
async function withS3<T>(fn: (s3: S3Setup) => Promise<T>): Promise<T> {
  const server = await startS3rver();
  const proxy = await S3Proxy.start(server);
  const remote = (endpoint: string): Remote => ({ endpoint, caFile: server.tls.certFile, env: S3RVER_ENV, bucketDir: (b) => join(server.dir, 'data', b) });
  try {
    return await fn({ remote: remote(server.endpoint), counting: remote(proxy.endpoint), proxy });
  } finally {
    await proxy.close();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const cfg = config(process.env);
  mkdirSync(cfg.benchDir, { recursive: true });
  log(`dir ${cfg.benchDir}, scale ${cfg.scale}, seed ${cfg.seed}, tools ${cfg.tools.join(',')}, suites ${cfg.suites.join(',')}`);
  const cacheDropped = await dropCaches();
  if (!cacheDropped) log('cannot drop the page cache here (no permission): all tools run with a warm cache');
  if (cfg.suites.includes('generated')) await runSuite(cfg, 'generated', ensureCorpus(cfg.benchDir, { seed: cfg.seed, scale: cfg.scale }, log), cacheDropped);
  if (!cfg.suites.includes('real') && !cfg.suites.includes('s3')) return;
  const real = await ensureRealCorpus(cfg.benchDir, cfg.scale, log);
  if (cfg.suites.includes('real')) await runSuite(cfg, 'real', real, cacheDropped);
  if (cfg.suites.includes('s3')) await withS3((s3) => runSuite(cfg, 's3', real, cacheDropped, s3));
}

main().catch((e: unknown) => {
  console.error(`[bench] ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
