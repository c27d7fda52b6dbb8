/**
 * Flat-memory proof (scripts/bench-memory.sh), two series side by side with restic:
 *  - bytes: peak RSS of `ebak backup` of one 256 MiB file and of one 4 GiB file.
 *    The inputs are AES-CTR keystream (incompressible, not sparse: a sparse file
 *    is all zeros and would dedup to nothing). Fails (exit 1) when ebak's peak at
 *    the large size exceeds its peak at the small size by more than 25 % + 32 MiB.
 *  - files: peak RSS of a backup of 8,000, 50,000 and 200,000 small files (each
 *    256 B – 2 KiB of keystream, so every file is its own blob; 100 files a
 *    directory, 100 directories a group), and the growth per added file from the
 *    smallest to the largest count. Fails when ebak's growth per file exceeds half
 *    of restic's (issue 16's bar), when restic ran.
 * It also fails when ebak fails.
 *
 * Environment: BENCH_DIR (default /tmp/ebak-bench; inputs go to BENCH_DIR/memory),
 * BENCH_MEMORY_SIZES (MiB, default 256,4096; empty: none), BENCH_MEMORY_FILES
 * (default 8000,50000,200000; empty: none), BENCH_TOOLS (default ebak,restic).
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { measure } from './measure.js';
import { Keystream, Prng } from './random.js';
import { makeTool, parseToolList, type ToolName } from './tools.js';

const MiB = 2 ** 20;
const log = (s: string): void => console.error(`[bench-memory] ${s}`);

/** One input: `size` MiB in one file (series bytes) or `size` small files (series files). */
interface Case {
  series: 'bytes' | 'files';
  size: number;
}

interface Row extends Case {
  tool: ToolName;
  ok: boolean;
  error?: string;
  wallSeconds?: number;
  cpuSeconds?: number;
  peakRssBytes?: number;
}

/** dir/input-<N>m/corpus/data.bin, N MiB of keystream; kept between runs (same bytes every time). */
function ensureBigFile(dir: string, sizeMiB: number): string {
  const root = join(dir, `input-${sizeMiB}m`);
  const file = join(root, 'corpus', 'data.bin');
  if (existsSync(file) && statSync(file).size === sizeMiB * MiB) return root;
  mkdirSync(join(root, 'corpus'), { recursive: true });
  const t0 = performance.now();
  const ks = new Keystream('ebak-bench-memory', `${sizeMiB} MiB`);
  const fd = openSync(file, 'w');
  try {
    for (let i = 0; i < sizeMiB; i += 4) writeSync(fd, ks.take(Math.min(4, sizeMiB - i) * MiB));
  } finally {
    closeSync(fd);
  }
  log(`wrote ${file} (${sizeMiB} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return root;
}

/** dir/input-<N>f/corpus/gGGG/dDD/fFF.bin: N small files of keystream; a stamp file marks a complete tree. */
function ensureSmallFiles(dir: string, count: number): string {
  const root = join(dir, `input-${count}f`);
  const stamp = join(root, 'complete');
  if (existsSync(stamp)) return root;
  rmSync(root, { recursive: true, force: true });
  const t0 = performance.now();
  const ks = new Keystream('ebak-bench-memory', `${count} files`);
  const prng = new Prng('ebak-bench-memory', `${count} files`);
  for (let i = 0; i < count; i++) {
    const sub = join(root, 'corpus', `g${Math.floor(i / 10_000)}`, `d${Math.floor(i / 100) % 100}`);
    if (i % 100 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i % 100}.bin`), ks.take(256 + prng.below(1793)));
  }
  writeFileSync(stamp, '');
  log(`wrote ${count} small files under ${root} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return root;
}

const label = (c: Case): string => (c.series === 'bytes' ? `${c.size} MiB in one file` : `${c.size} files`);

async function backupOnce(name: ToolName, dir: string, input: string, c: Case): Promise<Row> {
  const state = join(dir, 'state', `${name}-${c.series}-${c.size}`);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  const tool = makeTool(name, state);
  try {
    await tool.version();
    await tool.init();
    log(`${name}: backup of ${label(c)} ...`);
    const m = await measure(tool.backupArgv(1), { cwd: input, env: tool.env });
    if (m.exitCode !== 0) throw new Error(`backup exited ${m.exitCode}: ${m.stderrTail.trim().split('\n').slice(-2).join(' / ')}`);
    log(`${name}: ${label(c)}: ${m.wallSeconds.toFixed(1)} s, peak RSS ${(m.peakRssBytes / MiB).toFixed(1)} MiB`);
    return { ...c, tool: name, ok: true, wallSeconds: m.wallSeconds, cpuSeconds: m.cpuSeconds, peakRssBytes: m.peakRssBytes };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    log(`${name}: FAILED: ${error}`);
    return { ...c, tool: name, ok: false, error };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

/** The tool's rows of one series, smallest and largest input, when all of them succeeded. */
function ends(rows: readonly Row[], tool: ToolName, series: Case['series']): [Row, Row] | null {
  const mine = rows.filter((r) => r.tool === tool && r.series === series);
  if (mine.length < 2 || mine.some((r) => !r.ok)) return null;
  return [mine[0]!, mine[mine.length - 1]!];
}

/** Flat in bytes: the largest input's peak stays within 25 % + 32 MiB of the smallest input's peak. */
function flatness(rows: readonly Row[], tool: ToolName): { pass: boolean; text: string } | null {
  const e = ends(rows, tool, 'bytes');
  if (!e) return null;
  const [small, large] = [e[0].peakRssBytes!, e[1].peakRssBytes!];
  const pass = large <= small * 1.25 + 32 * MiB;
  return { pass, text: `${tool}: peak RSS ×${(large / small).toFixed(2)} from ${e[0].size} MiB to ${e[1].size} MiB input: ${pass ? 'flat' : 'GROWS'}` };
}

/** Peak RSS growth per added file, in bytes, between two rows. */
const slope = (a: Row, b: Row): number => (b.peakRssBytes! - a.peakRssBytes!) / (b.size - a.size);

/** Growth per added file from the smallest to the largest count (issue 16's figure). */
function perFile(rows: readonly Row[], tool: ToolName): number | null {
  const e = ends(rows, tool, 'files');
  return e ? slope(e[0], e[1]) : null;
}

/**
 * Growth per added file between the two largest counts: fixed-size pools (pack
 * buffers, the V8 young generation) fill up over the first tens of thousands of
 * files, so this slope is closer to what each file leaves behind.
 */
function tailSlope(rows: readonly Row[], tool: ToolName): string {
  const mine = rows.filter((r) => r.tool === tool && r.series === 'files');
  if (mine.length < 3 || mine.some((r) => !r.ok)) return '';
  const [a, b] = mine.slice(-2) as [Row, Row];
  return ` (${(slope(a, b) / 1000).toFixed(2)} KB from ${a.size} to ${b.size})`;
}

/** Issue 16's bar: ebak's growth per added file at most half of restic's. */
function fileGrowth(rows: readonly Row[], tools: readonly ToolName[]): { pass: boolean; text: string }[] {
  const out = tools.flatMap((t) => {
    const g = perFile(rows, t);
    return g === null ? [] : [{ pass: true, text: `${t}: peak RSS grows ${(g / 1000).toFixed(2)} KB per added file${tailSlope(rows, t)}` }];
  });
  const [mine, theirs] = [perFile(rows, 'ebak'), perFile(rows, 'restic')];
  if (mine !== null && theirs !== null) {
    const pass = mine <= theirs / 2;
    out.push({ pass, text: `ebak / restic growth per file: ${(mine / theirs).toFixed(2)} (bar: ≤ 0.5): ${pass ? 'pass' : 'FAILS'}` });
  }
  return out;
}

function render(rows: readonly Row[], verdicts: string[]): string {
  const lines = [
    '# ebak memory benchmark: peak RSS of one backup',
    '',
    '| tool | input | wall s | CPU s | peak RSS MiB |',
    '|---|---|---:|---:|---:|',
    ...rows.map((r) => r.ok
      ? `| ${r.tool} | ${label(r)} | ${r.wallSeconds!.toFixed(1)} | ${r.cpuSeconds!.toFixed(1)} | ${(r.peakRssBytes! / MiB).toFixed(1)} |`
      : `| ${r.tool} | ${label(r)} | FAILED: ${r.error} | | |`),
    '',
    ...verdicts.map((v) => `- ${v}`),
  ];
  return lines.join('\n') + '\n';
}

function counts(name: string, fallback: string): number[] {
  const text = process.env[name] ?? fallback;
  const list = text.trim() === '' ? [] : text.split(',').map(Number);
  if (list.some((s) => !Number.isInteger(s) || s <= 0)) throw new Error(`${name}: whole numbers, e.g. ${fallback}`);
  return list;
}

async function main(): Promise<number> {
  const dir = join(resolve(process.env.BENCH_DIR ?? '/tmp/ebak-bench'), 'memory');
  const cases: Case[] = [
    ...counts('BENCH_MEMORY_SIZES', '256,4096').map((size) => ({ series: 'bytes' as const, size })),
    ...counts('BENCH_MEMORY_FILES', '8000,50000,200000').map((size) => ({ series: 'files' as const, size })),
  ];
  const tools = parseToolList(process.env.BENCH_TOOLS ?? 'ebak,restic');
  const rows: Row[] = [];
  for (const c of cases) {
    const input = c.series === 'bytes' ? ensureBigFile(dir, c.size) : ensureSmallFiles(dir, c.size);
    for (const t of tools) rows.push(await backupOnce(t, dir, input, c));
  }
  const flat = tools.map((t) => flatness(rows, t)).filter((v) => v !== null);
  const verdicts = [...flat, ...fileGrowth(rows, tools)];
  const md = render(rows, verdicts.map((v) => v.text));
  writeFileSync(join(dir, 'memory-results.md'), md);
  writeFileSync(join(dir, 'memory-results.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');
  process.stdout.write(md);
  const ebakFailed = rows.some((r) => r.tool === 'ebak' && !r.ok);
  return ebakFailed || verdicts.some((v) => !v.pass) ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(`[bench-memory] ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
