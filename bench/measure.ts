/**
 * Runs one command and measures it: wall time (monotonic clock around the
 * whole process), and peak memory two ways, because the tools differ in shape:
 *  - GNU time's "Maximum resident set size" (getrusage of the waited-for tree:
 *    the peak of the single largest process, exact, not sampled);
 *  - the peak of the summed VmRSS of every process in the tree, sampled from
 *    /proc every 20 ms (catches tools that spread work over processes).
 * The reported peak is the larger of the two. ebak, restic and borg 1.2 each run
 * as one process, so both normally agree within the sampling error.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measurement {
  readonly exitCode: number;
  readonly wallSeconds: number;
  readonly peakRssBytes: number;
  readonly timeMaxRssBytes: number;
  readonly sampledTreeRssBytes: number;
  /** User + system CPU seconds of the tree (GNU time): less sensitive than wall time to a busy machine. */
  readonly cpuSeconds: number;
  readonly stdout: string;
  readonly stderrTail: string;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

export const GNU_TIME = '/usr/bin/time';
const SAMPLE_MS = 20;
const KEEP_OUTPUT = 1 << 20;

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    // the process exited between listing and reading
  }
  return out;
}

function rssOf(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Summed RSS of the descendants of `root` (not root itself: that is GNU time). */
function treeRss(root: number): number {
  let total = 0;
  const stack = childrenOf(root);
  while (stack.length > 0) {
    const pid = stack.pop()!;
    total += rssOf(pid);
    stack.push(...childrenOf(pid));
  }
  return total;
}

function tail(chunks: Buffer[], max: number): string {
  const s = Buffer.concat(chunks).toString('utf8');
  return s.length > max ? s.slice(-max) : s;
}

export async function measure(argv: readonly string[], opts: RunOptions): Promise<Measurement> {
  const timeFile = join(tmpdir(), `ebak-bench-time-${process.pid}-${Date.now()}.txt`);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let outBytes = 0;
  let sampled = 0;
  const t0 = performance.now();
  const child = spawn(GNU_TIME, ['-v', '-o', timeFile, ...argv], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.on('data', (b: Buffer) => {
    if (outBytes < KEEP_OUTPUT) out.push(b);
    outBytes += b.length;
  });
  child.stderr.on('data', (b: Buffer) => {
    err.push(b);
    if (err.length > 64) err.splice(0, err.length - 64);
  });
  const timer = setInterval(() => {
    if (child.pid) sampled = Math.max(sampled, treeRss(child.pid));
  }, SAMPLE_MS);
  const exitCode = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  }).finally(() => clearInterval(timer));
  const wallSeconds = (performance.now() - t0) / 1000;
  let report = '';
  try {
    report = readFileSync(timeFile, 'utf8');
  } finally {
    rmSync(timeFile, { force: true });
  }
  const field = (label: string): number => Number(new RegExp(`${label}: ([\\d.]+)`).exec(report)?.[1] ?? 0);
  const timeMaxRssBytes = field('Maximum resident set size \\(kbytes\\)') * 1024;
  return {
    exitCode,
    wallSeconds,
    peakRssBytes: Math.max(timeMaxRssBytes, sampled),
    timeMaxRssBytes,
    sampledTreeRssBytes: sampled,
    cpuSeconds: field('User time \\(seconds\\)') + field('System time \\(seconds\\)'),
    stdout: tail(out, KEEP_OUTPUT),
    stderrTail: tail(err, 2000),
  };
}

/** Runs a command without measuring it; throws with its stderr when it fails. */
export async function run(argv: readonly string[], opts: RunOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new Error(`${argv.join(' ')} exited ${code}: ${tail(err, 600).trim()}`));
    });
  });
}

/** Apparent size in bytes of everything under `path` (du -sb). */
export async function duBytes(path: string): Promise<number> {
  const text = await run(['du', '-sb', path], { cwd: '/', env: process.env });
  return Number(text.split(/\s/)[0]);
}

/** Drops the page cache so every timed phase starts cold; false where the kernel refuses. */
export async function dropCaches(): Promise<boolean> {
  try {
    await run(['sh', '-c', 'sync && echo 3 > /proc/sys/vm/drop_caches'], { cwd: '/', env: process.env });
    return true;
  } catch {
    return false;
  }
}
