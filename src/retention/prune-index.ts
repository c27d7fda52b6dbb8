/**
 * The index files prune writes (docs/format.md, "Deleting data"), as pure
 * functions of its plan: phase 1's file lists every pack that stays live,
 * marks (with the time) every pack to delete, and supersedes every index
 * file prune read; phase 2's file deletes the ripe marks (their packs go
 * only after it is saved) and brings back any marked pack a snapshot that
 * appeared meanwhile needs. And phase 2's rule: a mark is ripe when no
 * other live lock's holder started before the mark plus LOCK_SKEW_S.
 */
import { copyWith } from '../util/objects.js';
import type { PackEntry, PrunePlan } from './prune-plan.js';

/** The repository's index file, in the shape prune needs (its IndexFile is one). */
export interface PruneIndexFile<P extends PackEntry> {
  packs: P[];
  superseded: Buffer[];
  marked?: (P & { markedAt: number })[];
}
type Marked<P> = P & { markedAt: number };

/**
 * Slack between a mark's time (the prune's clock, taken just before its
 * index file is saved) and a lock's start (its holder's clock): covers clock
 * skew between hosts and the time the save takes.
 */
export const LOCK_SKEW_S = 600;

/** Phase 1's index file: `now` in Unix seconds; `replaces` the names of every index file read. */
export function markingIndex<P extends PackEntry>(plan: PrunePlan<P>, replaces: readonly string[], now: number): Required<PruneIndexFile<P>> {
  const packs: P[] = [];
  const marked: Marked<P>[] = [];
  for (const d of plan.decisions) {
    const p = d.plan.pack;
    if (d.action === 'keep' || d.action === 'recover' || d.action === 'archived' || d.action === 'held') packs.push(p);
    else if (d.action === 'mark' || d.action === 'repack') marked.push(copyWith(p, { markedAt: now }));
    else if (d.action === 'marked') marked.push(copyWith(p, { markedAt: d.plan.markedAt! }));
  }
  return { packs, superseded: replaces.map((n) => Buffer.from(n, 'hex')), marked };
}

/**
 * Phase 2: which marks may go. `lockStarts`: the start (Unix seconds) of
 * every other live lock, -Infinity for a lock that does not say.
 */
export function ripeMarks<M extends { markedAt: number }>(marked: readonly M[], lockStarts: readonly number[]): M[] {
  const earliest = Math.min(Infinity, ...lockStarts);
  return marked.filter((m) => m.markedAt + LOCK_SKEW_S < earliest);
}

/**
 * Phase 2's index file, replacing phase 1's (`name`): the ripe marks whose
 * blobs `used` (the snapshots that appeared since the plan) needs are live
 * again; the other ripe marks are dropped, and returned as `doomed`.
 */
export function deletingIndex<P extends PackEntry>(file: PruneIndexFile<P>, name: string, ripe: readonly Marked<P>[], used: ReadonlySet<string>): { file: Required<PruneIndexFile<P>>; doomed: string[]; recovered: number } {
  const ripeIds = new Set(ripe.map((m) => m.id.toString('hex')));
  const needed = (p: PackEntry) => p.blobs.some((b) => used.has(b.id.toString('hex')));
  const recovered = ripe.filter(needed);
  const doomed = ripe.filter((m) => !needed(m)).map((m) => m.id.toString('hex'));
  const marked = (file.marked ?? []).filter((m) => !ripeIds.has(m.id.toString('hex')));
  // A recovered pack keeps its markedAt property, which a live entry does not encode.
  const packs: P[] = [...file.packs, ...recovered];
  return { file: { packs, superseded: [Buffer.from(name, 'hex')], marked }, doomed, recovered: recovered.length };
}
