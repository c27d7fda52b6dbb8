/**
 * Which snapshots a command works on, restic's way: the ids given (a unique
 * prefix, or "latest": the newest one the filter selects), or, with none,
 * every snapshot the filter (--host, --tag, --path) selects. The filter is
 * retention's (src/retention/plan.ts), so forget, tag, find and stats select
 * alike.
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
