/**
 * Flat-memory proof (scripts/bench-memory.sh): peak RSS of `ebak backup` of one
 * 256 MiB file and of one 4 GiB file, with restic's figures for reference. The
 * inputs are AES-CTR keystream (incompressible, not sparse: a sparse file is all
 * zeros and would dedup to nothing). The run fails (exit 1) when ebak's peak at
 * the large size exceeds its peak at the small size by more than 25 % + 32 MiB,
 * or when ebak fails.
 *
 * Environment: BENCH_DIR (default /tmp/ebak-bench; inputs go to BENCH_DIR/memory),
 * BENCH_MEMORY_SIZES (MiB, default 256,4096), BENCH_TOOLS (default ebak,restic).
 */
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { measure } from './measure.js';
import { Keystream } from './random.js';
import { makeTool, parseToolList, type ToolName } from './tools.js';

const MiB = 2 ** 20;
const log = (s: string): void => console.error(`[bench-memory] ${s}`);

interface Row {
  tool: ToolName;
  sizeMiB: number;
  ok: boolean;
  error?: string;
  wallSeconds?: number;
  mbPerSec?: number;
  peakRssBytes?: number;
}

/** dir/input-<N>m/corpus/data.bin, N MiB of keystream; kept between runs (same bytes every time). */
function ensureInput(dir: string, sizeMiB: number): string {
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

async function backupOnce(name: ToolName, dir: string, input: string, sizeMiB: number): Promise<Row> {
  const state = join(dir, 'state', `${name}-${sizeMiB}m`);
  rmSync(state, { recursive: true, force: true });
  mkdirSync(state, { recursive: true });
  const tool = makeTool(name, state);
  try {
    await tool.version();
    await tool.init();
    log(`${name}: backup of ${sizeMiB} MiB ...`);
    const m = await measure(tool.backupArgv(1), { cwd: input, env: tool.env });
    if (m.exitCode !== 0) throw new Error(`backup exited ${m.exitCode}: ${m.stderrTail.trim().split('\n').slice(-2).join(' / ')}`);
    const row = { tool: name, sizeMiB, ok: true, wallSeconds: m.wallSeconds, mbPerSec: (sizeMiB * MiB) / m.wallSeconds / 1e6, peakRssBytes: m.peakRssBytes };
    log(`${name}: ${sizeMiB} MiB: ${m.wallSeconds.toFixed(1)} s, peak RSS ${(m.peakRssBytes / MiB).toFixed(1)} MiB`);
    return row;
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    log(`${name}: FAILED: ${error}`);
    return { tool: name, sizeMiB, ok: false, error };
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
}

/** Flat means the largest input's peak stays within 25 % + 32 MiB of the smallest input's peak. */
function flatness(rows: readonly Row[], tool: ToolName): { flat: boolean; text: string } | null {
  const mine = rows.filter((r) => r.tool === tool);
  if (mine.length < 2 || mine.some((r) => !r.ok)) return null;
  const small = mine[0]!.peakRssBytes!;
  const large = mine[mine.length - 1]!.peakRssBytes!;
  const flat = large <= small * 1.25 + 32 * MiB;
  return { flat, text: `${tool}: peak RSS ×${(large / small).toFixed(2)} from ${mine[0]!.sizeMiB} MiB to ${mine[mine.length - 1]!.sizeMiB} MiB input: ${flat ? 'flat' : 'GROWS'}` };
}

function render(rows: readonly Row[], verdicts: string[]): string {
  const lines = [
    '# ebak memory benchmark: peak RSS of one backup of a single file',
    '',
    '| tool | file MiB | wall s | MB/s | peak RSS MiB |',
    '|---|---:|---:|---:|---:|',
    ...rows.map((r) => r.ok
      ? `| ${r.tool} | ${r.sizeMiB} | ${r.wallSeconds!.toFixed(1)} | ${r.mbPerSec!.toFixed(1)} | ${(r.peakRssBytes! / MiB).toFixed(1)} |`
      : `| ${r.tool} | ${r.sizeMiB} | FAILED: ${r.error} | | |`),
    '',
    ...verdicts.map((v) => `- ${v}`),
  ];
  return lines.join('\n') + '\n';
}

async function main(): Promise<number> {
  const dir = join(resolve(process.env.BENCH_DIR ?? '/tmp/ebak-bench'), 'memory');
  const sizes = (process.env.BENCH_MEMORY_SIZES ?? '256,4096').split(',').map(Number);
  if (sizes.some((s) => !Number.isInteger(s) || s <= 0)) throw new Error('BENCH_MEMORY_SIZES: whole MiB, e.g. 256,4096');
  const tools = parseToolList(process.env.BENCH_TOOLS ?? 'ebak,restic');
  const rows: Row[] = [];
  for (const size of sizes) {
    const input = ensureInput(dir, size);
    for (const t of tools) rows.push(await backupOnce(t, dir, input, size));
  }
  const verdicts = tools.map((t) => flatness(rows, t)?.text ?? `${t}: no verdict (a run failed or only one size)`);
  const md = render(rows, verdicts);
  writeFileSync(join(dir, 'memory-results.md'), md);
  writeFileSync(join(dir, 'memory-results.json'), JSON.stringify({ date: new Date().toISOString(), rows }, null, 2) + '\n');
  process.stdout.write(md);
  if (!tools.includes('ebak')) return 0;
  return flatness(rows, 'ebak')?.flat ? 0 : 1;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(`[bench-memory] ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
