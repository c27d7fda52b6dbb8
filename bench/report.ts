/**
 * The side-by-side benchmark's result shape (written as results.json) and its
 * markdown rendering (results.md, also printed). MB is 10^6 bytes, MiB 2^20.
 */
export const PHASES = ['first backup', 'unchanged re-backup', 'restore'] as const;
export type Phase = (typeof PHASES)[number];

export interface PhaseResult {
  readonly phase: Phase;
  readonly ok: boolean;
  readonly error?: string;
  readonly wallSeconds: number;
  /** Corpus bytes / wall seconds / 10^6. */
  readonly mbPerSec: number;
  /** User + system CPU seconds: the work done, whatever else the machine was doing. */
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  readonly timeMaxRssBytes: number;
  readonly sampledTreeRssBytes: number;
  /** Repository size (du -sb) after the phase; absent for restore. */
  readonly repoBytes?: number;
  /** The tool's local cache size after the phase. */
  readonly cacheBytes?: number;
  /** Restore only: the restored tree matched the corpus manifest byte for byte. */
  readonly verified?: boolean;
  /** 1-minute load average when the phase started (the machine is shared). */
  readonly loadAverage: number;
}

export interface ToolResult {
  readonly tool: string;
  readonly ok: boolean;
  readonly error?: string;
  readonly version?: string;
  readonly settings: string;
  readonly snapshots?: number;
  readonly phases: PhaseResult[];
  /** S3 runs: GET requests the server saw during one more unchanged re-backup (untimed, through a counting proxy). */
  readonly rebackupGets?: number;
}

export interface Results {
  /** Which run: the generated corpus, the real-file corpus, or the real-file corpus on S3. */
  readonly label?: string;
  readonly date: string;
  readonly host: { cpu: string; cores: number; memoryGiB: number; kernel: string; node: string };
  readonly benchDir: string;
  readonly corpus: {
    seed: string;
    scale: number;
    files: number;
    bytes: number;
    digest: string;
    composition: Record<string, { files: number; bytes: number }>;
  };
  /** Page cache dropped before every timed phase (false: the kernel refused; all tools equally warm). */
  readonly cacheDropped: boolean;
  readonly tools: ToolResult[];
  readonly ratios: Ratios | null;
}

/** ebak divided by restic, per phase; > 1 means ebak has more of it. */
export interface Ratios {
  readonly throughput: Partial<Record<Phase, number>>;
  readonly peakRss: Partial<Record<Phase, number>>;
  /** Repository size after the first backup. */
  readonly repoSize?: number;
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1);
const fmt = (x: number | undefined, digits = 2): string => (x === undefined ? '–' : x.toFixed(digits));

function phaseOf(t: ToolResult | undefined, p: Phase): PhaseResult | undefined {
  const r = t?.phases.find((x) => x.phase === p);
  return r?.ok ? r : undefined;
}

export function computeRatios(tools: readonly ToolResult[]): Ratios | null {
  const e = tools.find((t) => t.tool === 'ebak');
  const r = tools.find((t) => t.tool === 'restic');
  if (!e || !r) return null;
  const throughput: Partial<Record<Phase, number>> = {};
  const peakRss: Partial<Record<Phase, number>> = {};
  for (const p of PHASES) {
    const a = phaseOf(e, p);
    const b = phaseOf(r, p);
    if (!a || !b) continue;
    throughput[p] = a.mbPerSec / b.mbPerSec;
    peakRss[p] = a.peakRssBytes / b.peakRssBytes;
  }
  const ea = phaseOf(e, 'first backup')?.repoBytes;
  const rb = phaseOf(r, 'first backup')?.repoBytes;
  const ratios: Ratios = { throughput, peakRss, ...(ea && rb ? { repoSize: ea / rb } : {}) };
  return Object.keys(throughput).length === 0 && ratios.repoSize === undefined ? null : ratios;
}

function phaseRow(t: ToolResult, p: PhaseResult): string {
  if (!p.ok) return `| ${t.tool} | ${p.phase} | FAILED: ${p.error ?? 'unknown'} | | | | | | |`;
  const verified = p.verified === undefined ? '' : p.verified ? 'identical' : 'MISMATCH';
  return `| ${t.tool} | ${p.phase} | ${fmt(p.wallSeconds)} | ${fmt(p.mbPerSec, 1)} | ${fmt(p.cpuSeconds, 1)} | ${mib(p.peakRssBytes)} | ` +
    `${p.repoBytes === undefined ? '' : mib(p.repoBytes)} | ${p.cacheBytes === undefined ? '' : mib(p.cacheBytes)} | ` +
    `${verified || fmt(p.loadAverage)} |`;
}

export function renderMarkdown(r: Results): string {
  const c = r.corpus;
  const lines = [
    `# ebak side-by-side benchmark${r.label ? `: ${r.label}` : ''} (${r.date})`,
    '',
    `Machine: ${r.host.cpu}, ${r.host.cores} cores, ${r.host.memoryGiB} GiB, Linux ${r.host.kernel}, Node ${r.host.node}.`,
    `Corpus: ${c.files} files, ${mib(c.bytes)} MiB (scale ${c.scale}, seed "${c.seed}", digest ${c.digest.slice(0, 16)}):`,
    ...Object.entries(c.composition).map(([k, v]) => `- ${k}: ${v.files} files, ${mib(v.bytes)} MiB`),
    '',
    r.cacheDropped
      ? 'Page cache: dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every timed phase.'
      : 'Page cache: could NOT be dropped here (no permission); every tool ran with the same warm cache.',
    '',
    '| tool | phase | wall s | MB/s | CPU s | peak RSS MiB | repo MiB | cache MiB | restore check / load |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const t of r.tools) {
    if (!t.ok && t.phases.length === 0) lines.push(`| ${t.tool} | – | FAILED: ${t.error ?? 'unknown'} | | | | | | |`);
    for (const p of t.phases) lines.push(phaseRow(t, p));
  }
  lines.push('', 'Settings:');
  for (const t of r.tools) {
    const status = t.ok ? '' : ` — FAILED: ${t.error ?? 'see table'}`;
    const gets = t.rebackupGets === undefined ? '' : `; GET requests (listings included) in an unchanged re-backup: ${t.rebackupGets}`;
    lines.push(`- ${t.tool} (${t.version ?? 'version unknown'}): ${t.settings}; snapshots after run: ${t.snapshots ?? '–'}${gets}${status}`);
  }
  lines.push('', 'Ratios ebak / restic (throughput > 1: ebak faster; RSS and size < 1: ebak smaller):', '');
  if (!r.ratios) {
    lines.push('n/a (ebak or restic has no successful figures)');
  } else {
    lines.push('| phase | throughput | peak RSS |', '|---|---:|---:|');
    for (const p of PHASES) lines.push(`| ${p} | ${fmt(r.ratios.throughput[p])} | ${fmt(r.ratios.peakRss[p])} |`);
    lines.push(`| repository size after first backup | ${fmt(r.ratios.repoSize)} | |`);
  }
  lines.push(
    '',
    'MB/s = corpus bytes / wall seconds / 10^6 (for the re-backup too). CPU s = user + system seconds. Peak RSS: the larger of GNU time\'s ' +
      'maximum resident set size and the summed RSS of the process tree sampled every 20 ms. ' +
      'The last column shows the restore check, or the 1-minute load average when the phase started.',
  );
  return lines.join('\n') + '\n';
}
