/**
 * Which snapshots a command works on, restic's way: the ids given (a unique
 * prefix, or "latest": the newest one the filter selects), or, with none,
 * every snapshot the filter (--host, --tag, --path) selects. The filter is
 * retention's (src/retention/plan.ts), so forget, tag, find and stats select
 * alike. restore, ls and diff take one snapshot (selectOne), by reference or
 * point-in-time (--at).
 */
import { resolve } from 'node:path';
import { EbakError } from '../errors.js';
import type { SnapshotEntry, SnapshotStore } from '../repository/api.js';
import { isEmptyFilter, matchesFilter, parseTagList, type SnapshotFilter } from '../retention/plan.js';

/** The filter flags as parsed by parseFlags (each may be repeated; tags "a,b" are one list). */
export function snapshotFilter(lists: Record<string, string[] | undefined>): SnapshotFilter {
  return {
    hosts: lists.host ?? [],
    tags: (lists.tag ?? []).map(parseTagList),
    paths: (lists.path ?? []).map((p) => resolve(p)),
  };
}

export interface Selection {
  /** Oldest first, each once. */
  entries: SnapshotEntry[];
  /** Snapshots that could not be read while choosing (no ids, or "latest"): the caller names them. */
  damaged: EbakError[];
}

export async function selectSnapshots(repo: SnapshotStore, refs: readonly string[], filter: SnapshotFilter): Promise<Selection> {
  // Every snapshot is read only when the filter decides (no ids, or "latest"); ids alone read just theirs.
  const all = refs.length === 0 || refs.includes('latest') ? await repo.readSnapshots() : undefined;
  const matching = all?.snapshots.filter((e) => matchesFilter(e.snapshot, filter)) ?? [];
  if (refs.length === 0) return { entries: matching, damaged: all!.damaged };
  const chosen = new Map<string, SnapshotEntry>();
  for (const ref of refs) {
    const e = ref === 'latest' ? matching.at(-1) : await repo.findSnapshot(ref);
    if (!e) throw new EbakError('NOT_FOUND', isEmptyFilter(filter) ? 'the repository has no snapshots yet' : 'no snapshot matches --host/--tag/--path for "latest"');
    chosen.set(e.id, e);
  }
  return { entries: [...chosen.values()].sort((a, b) => Date.parse(a.snapshot.time) - Date.parse(b.snapshot.time)), damaged: all?.damaged ?? [] };
}

/**
 * An --at time (ISO 8601: a date, or a date and time, with an optional zone;
 * without one it is local time, as backup's --time).
 */
export function parseAtTime(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text.trim());
  const t = m ? Date.parse(`${m[1]}T${m[2] ?? '00:00'}${m[3] ?? ''}`) : NaN;
  if (Number.isNaN(t)) throw new EbakError('USAGE', `--at ${JSON.stringify(text)} is not an ISO 8601 time`, { hint: 'e.g. --at 2024-05-01T14:30:00Z, or --at 2024-05-01 (local midnight)' });
  return t;
}

/**
 * The one snapshot restore, ls and diff work on: `ref` (an id, a prefix, or
 * "latest" narrowed by the filter) or, with `at`, point-in-time: the newest
 * snapshot taken at or before that time, all of them of one host and set of
 * paths (snapshots of several would make "the" snapshot a guess: the filter
 * narrows them).
 */
export async function selectOne(repo: SnapshotStore, ref: string | undefined, at: string | undefined, filter: SnapshotFilter, warn: (m: string) => void): Promise<SnapshotEntry> {
  if (at !== undefined && ref !== undefined) throw new EbakError('USAGE', `--at and a snapshot (${JSON.stringify(ref)}) are mutually exclusive: give one`);
  if (at === undefined) {
    if (ref === undefined) throw new EbakError('USAGE', 'give a snapshot (an id, or "latest") or --at <time>');
    if (isEmptyFilter(filter)) return repo.findSnapshot(ref);
    const { entries, damaged } = await selectSnapshots(repo, [ref], filter);
    for (const e of damaged) warn(`${e.message}; skipped when choosing "${ref}"`);
    return entries[0]!;
  }
  const until = parseAtTime(at);
  const { snapshots, damaged } = await repo.readSnapshots();
  for (const e of damaged) warn(`${e.message}; skipped when choosing the snapshot at ${at}`);
  const before = snapshots.filter((e) => matchesFilter(e.snapshot, filter) && Date.parse(e.snapshot.time) <= until);
  if (before.length === 0) throw new EbakError('NOT_FOUND', `no snapshot${isEmptyFilter(filter) ? '' : ' matching --host/--tag/--path'} at or before ${new Date(until).toISOString()}`);
  const groups = new Set(before.map((e) => groupOf(e.snapshot)));
  if (groups.size > 1) throw new EbakError('USAGE', `--at: snapshots of ${groups.size} hosts or sets of paths were taken by then (${[...groups].slice(0, 3).join('; ')})`, { hint: 'narrow with --host and --path' });
  return before.reduce((a, b) => (Date.parse(b.snapshot.time) >= Date.parse(a.snapshot.time) ? b : a));
}

function groupOf(s: { hostname: string; paths: readonly string[] }): string {
  return `${s.hostname}:${[...s.paths].sort().join(',')}`;
}
