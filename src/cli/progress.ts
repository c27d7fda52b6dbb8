/**
 * The progress lines of long commands (backup, restore, check --read-data,
 * copy) and backup's restic-shaped JSON `status` message, built from counts
 * and the time elapsed. Pure functions: src/cli/output.ts decides where a
 * line goes (stderr, only on a terminal, never under --quiet or --json), and
 * test/cli/progress.test.ts checks them without a terminal.
 */
import type { Progress } from '../archiver/index.js';
import type { ScanTotal } from '../archiver/scan.js';
import type { Output } from './command.js';
import { formatBytes, formatRate } from './format.js';

/** Whether `out` shows progress lines: on a terminal, neither --quiet nor --json (output.ts's rule). */
export function showsProgress(out: Output): boolean {
  return !out.quiet && !out.json && Boolean(process.stderr.isTTY);
}

/** `done` of `total` as a fraction in [0, 1] (0 while the total is unknown). */
export function fraction(done: number, total: number): number {
  return total > 0 ? Math.min(1, done / total) : 0;
}

/** Seconds left at the rate so far; undefined in the first second (no rate to go by yet) or before anything is done. */
export function secondsLeft(done: number, total: number, ms: number): number | undefined {
  if (done <= 0 || total <= 0 || ms < 1000) return undefined;
  return Math.max(0, ((total - done) * ms) / done / 1000);
}

function formatDuration(s: number): string {
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.round(s)}s`;
}

const pct = (f: number): string => `${(100 * f).toFixed(1)}%`;

/**
 * Backup's totals: what the size scan has found so far (it runs beside the
 * walk, restic's scanner), never less than what is already done.
 */
function backupTotals(p: Progress, total: ScanTotal): { files: number; bytes: number } {
  return { files: Math.max(total.files, p.files), bytes: Math.max(total.bytes, p.bytes) };
}

/** "files, bytes, rate", the percent of the total found so far (from the start), and an ETA once the scan is done. */
export function backupLine(p: Progress, total: ScanTotal, ms: number): string {
  const t = backupTotals(p, total);
  const base = `${p.files} files, ${formatBytes(p.bytes)}, ${formatRate(p.bytes, ms)}`;
  if (t.bytes === 0) return base;
  const eta = total.done ? secondsLeft(p.bytes, t.bytes, ms) : undefined;
  const of = `${pct(fraction(p.bytes, t.bytes))} of ${total.done ? '' : '≥'}${formatBytes(t.bytes)} in ${t.files} files`;
  return `${base}, ${of}${eta === undefined ? '' : `, ETA ${formatDuration(eta)}`}${p.errors ? `, ${p.errors} errors` : ''}`;
}

/** restic's `status` message of `backup --json` (doc/075_scripting.rst). */
export function backupStatus(p: Progress, total: ScanTotal, ms: number): Record<string, unknown> {
  const t = backupTotals(p, total);
  const eta = total.done ? secondsLeft(p.bytes, t.bytes, ms) : undefined;
  return {
    message_type: 'status',
    seconds_elapsed: Math.floor(ms / 1000),
    ...(eta === undefined ? {} : { seconds_remaining: Math.round(eta) }),
    percent_done: fraction(p.bytes, t.bytes),
    total_files: t.files,
    files_done: p.files,
    total_bytes: t.bytes,
    bytes_done: p.bytes,
    error_count: p.errors,
    current_files: p.current,
  };
}

/** Restore: "files, bytes, rate", with the percent and ETA of `totalBytes` (the snapshot's size) when known. */
export function restoreLine(p: { files: number; bytes: number }, totalBytes: number | undefined, ms: number): string {
  const base = `${p.files} files, ${formatBytes(p.bytes)}, ${formatRate(p.bytes, ms)}`;
  if (!totalBytes) return base;
  const eta = secondsLeft(p.bytes, totalBytes, ms);
  return `${base}, ${pct(fraction(p.bytes, totalBytes))} of ${formatBytes(totalBytes)}${eta === undefined ? '' : `, ETA ${formatDuration(eta)}`}`;
}

/** "<what> done/total (percent)": check's packs, copy's snapshots. */
export function countLine(what: string, done: number, total: number): string {
  return `${what} ${done}/${total} (${pct(fraction(done, total))})`;
}
