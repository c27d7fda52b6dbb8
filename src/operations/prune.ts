/**
 * The prune operation (restic's prune, in two phases so that backups never
 * wait: docs/format.md, "Deleting data"). Under a prune lock (which shared
 * locks coexist with): read every index file and snapshot, plan
 * (src/retention/prune-plan.ts), copy the needed blobs out of the packs to
 * repack, then phase 1 writes one index file that marks every pack to
 * delete and supersedes every index file read, and removes those. Phase 2
 * runs at once when no other live lock's holder started before the marks
 * (with no concurrent writer the space is freed in one run), else the next
 * prune does it: it writes an index without the ripe marks (recovering any
 * a snapshot written meanwhile needs), removes phase 1's file, and only then
 * deletes the packs. Every step leaves a repository `check` accepts, so a
 * prune killed anywhere is finished by the next one. With a repository head
 * (vault mode) index removals are posted in two steps (head.ts). Where the
 * vault holds the delete credential, it deletes the packs (`deleter`), and
 * the packs a protected snapshot recorded (`pinned`) are kept whole: never
 * deleted nor repacked (docs/retention.md "Vault mode: the vault deletes").
 */
import { EbakError, isEbakError } from '../errors.js';
import type { HeadRecorder, Lock, PruneStore, SnapshotEntry } from '../repository/api.js';
import type { FileInfo } from '../storage/backend.js';
import type { IndexedPack, IndexFile, MarkedPack } from '../repository/format/indexfile.js';
import { BlobType } from '../repository/format/pack.js';
import type { WorkerPool } from '../repository/workers.js';
import { deletingIndex, markingIndex, ripeMarks } from '../retention/prune-index.js';
import { earlyDeleteUsd } from '../retention/prune-cost.js';
import { MIN_STORAGE_DAYS, planPrune, pruneStats, type MaxUnused, type PlanPack, type PrunePlan, type PruneStats } from '../retention/prune-plan.js';
import { owned } from '../util/buffers.js';
import { usedBlobs, walk } from '../walker/index.js';
import { finishPending, removeRecorded, snapshotsVia, type ObjectDeleter } from './head.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export type PruneEvent = { type: 'progress'; message: string } | WarningEvent;

export interface PruneOptions extends OperationOptions<PruneEvent> {
  maxUnused: MaxUnused;
  maxRepackBytes: number;
  /** Plan and report; change nothing. */
  dryRun: boolean;
  /** The clock (ms), for tests. */
  now?: () => number;
  /** The repository head to post index removals to (vault mode; packs are not in it). */
  head?: HeadRecorder | undefined;
  /** Packs to repack whatever they hold, and the index rewritten even if nothing else changes (a master-key rotation's --rewrite). */
  rewrite?: ((pack: IndexedPack) => boolean) | undefined;
  /** Deletes the packs (and pending snapshots) instead of the repository: the vault, when it holds the delete credential. */
  deleter?: ObjectDeleter | undefined;
  /** Packs to keep whole whatever they hold (a protected snapshot's, as the vault recorded them); 'all': keep every pack. */
  pinned?: ReadonlySet<string> | 'all' | undefined;
  /** Delete and repack packs younger than their storage class's minimum duration too (S3 bills the rest of it anyway). */
  earlyDelete?: boolean | undefined;
  /** Repack packs in an archive class too, restoring them first (--repack-archived). */
  repackArchived?: boolean | undefined;
}

/** A pack prune would delete or repack, held back: its storage class's minimum duration ends at `until` (ISO 8601). */
export interface HeldPack {
  id: string;
  storageClass: string;
  until: string;
  bytes: number;
  /** What S3 would bill for deleting it now (retention/prune-cost.ts: an estimate from list prices). */
  earlyDeleteUsd: number;
}

export interface PruneResult {
  dryRun: boolean;
  stats: PruneStats;
  /** The plan's packs to delete (now or later) and to repack. */
  toDelete: string[];
  toRepack: string[];
  /** Packs to delete now or later: marked in this run or before. */
  marked: number;
  /** Packs deleted by this run. */
  deleted: string[];
  /** Marked packs left for a later prune (another holder's lock predates their mark). */
  pending: number;
  /** Marked packs a snapshot needed again, live again. */
  recovered: number;
  /** Packs in an archive storage class, left alone. */
  archived: string[];
  /** Packs held back by their class's minimum storage duration. */
  held: HeldPack[];
  /** Archived packs to repack, restored first (--repack-archived); `until` and the cost as for held packs (0 past the minimum). */
  restored: HeldPack[];
  /** Packs no index covers whose header could not be read: left alone (check names them). */
  unreadable: string[];
  /** Index files written. */
  indexWritten: string[];
}

interface Inventory {
  plan: PrunePlan<IndexedPack>;
  /** Every index file read (current and superseded): phase 1's file replaces them. */
  replaces: string[];
  /** How many of them are current. */
  currentFiles: number;
  /** The snapshots the plan was made from. */
  seen: Set<string>;
  unreadable: string[];
  /** The stored packs, as listed (their class and when each was written). */
  stored: ReadonlyMap<string, FileInfo>;
}

export function prune(repo: PruneStore, pool: WorkerPool, opts: PruneOptions): Promise<PruneResult> {
  return runLocked(repo, 'prune', 'prune', opts, (lock) => pruneLocked(repo, pool, opts, lock));
}

async function pruneLocked(repo: PruneStore, pool: WorkerPool, opts: PruneOptions, lock: Lock): Promise<PruneResult> {
  refuseUnsafe(repo);
  if (!opts.dryRun) await finishPending(opts.head, snapshotsVia(repo, opts.deleter));
  const say = (message: string) => opts.onEvent?.({ type: 'progress', message });
  const inv = await inventory(repo, opts, say);
  const stats = pruneStats(inv.plan);
  const archived = inv.plan.decisions.filter((d) => d.action === 'archived').map((d) => d.id);
  const clock = (opts.now ?? Date.now)();
  const held = inv.plan.decisions.flatMap((d) => (d.action === 'held' && d.held ? [{ id: d.id, storageClass: d.held.storageClass, until: new Date(d.held.until).toISOString(), bytes: d.size, earlyDeleteUsd: earlyDeleteUsd(d.size, d.held.storageClass, d.held.until, clock) }] : []));
  const restored = restoresOf(inv, clock);
  const base = { stats, archived, held, restored, unreadable: inv.unreadable, recovered: inv.plan.decisions.filter((d) => d.action === 'recover').length };
  const ids = (...actions: string[]) => inv.plan.decisions.filter((d) => actions.includes(d.action)).map((d) => d.id);
  const toDelete = ids('mark', 'marked');
  const toRepack = ids('repack');
  const marks = toDelete.length + toRepack.length;
  if (opts.dryRun || (unchanged(inv) && !opts.rewrite)) return { dryRun: opts.dryRun, ...base, toDelete, toRepack, marked: marks, deleted: [], pending: 0, indexWritten: [] };
  say('repacking');
  await repack(repo, pool, inv.plan, restored.map((r) => r.id), say, opts.signal);
  const now = Math.floor((opts.now ?? Date.now)() / 1000);
  const file = markingIndex(inv.plan, inv.replaces, now);
  const name = await repo.saveIndexFile(file);
  say('removing the replaced index files');
  await removeRecorded(opts.head, 'indexes', inv.replaces, (old) => repo.removeIndexFile(old));
  repo.indexReplaced(inv.replaces, name, file);
  const phase2 = await deleteRipe(repo, lock, { name, file }, inv.seen, say, opts);
  return { dryRun: false, ...base, toDelete, toRepack, marked: marks, ...phase2, recovered: base.recovered + phase2.recovered, indexWritten: [name, ...phase2.indexWritten] };
}

/** The archived packs the plan repacks, with the end of their class's minimum and what repacking them now costs early. */
function restoresOf(inv: Inventory, now: number): HeldPack[] {
  return inv.plan.decisions.flatMap((d) => {
    if (d.action !== 'repack' || d.archived === undefined) return [];
    const until = (inv.stored.get(d.id)?.modified ?? now) + (MIN_STORAGE_DAYS[d.archived] ?? 0) * 86_400_000;
    return [{ id: d.id, storageClass: d.archived, until: new Date(until).toISOString(), bytes: d.size, earlyDeleteUsd: earlyDeleteUsd(d.size, d.archived, until, now) }];
  });
}

/** Nothing to mark, repack, recover, drop or index, and no index file left over: the index stays as it is. */
function unchanged(inv: Inventory): boolean {
  return inv.plan.decisions.every((d) => (d.action === 'keep' || d.action === 'archived' || d.action === 'held') && d.plan.indexed) && inv.replaces.length === inv.currentFiles;
}

/** Deleting needs storage that deletes; Object Lock retention (extended by prune, later) is not handled yet. */
function refuseUnsafe(repo: PruneStore): void {
  if (repo.storage.appendOnly) throw new EbakError('USAGE', 'the storage is append-only: prune cannot delete anything there', { hint: 'prune where the storage allows deletion' });
  if (repo.config.object_lock)
    throw new EbakError('NOT_IMPLEMENTED', 'prune on a repository with S3 Object Lock is not built yet (it must extend the retention of the packs it keeps); nothing was deleted');
}

/** Everything the plan needs, read under the lock: index files, stored packs, what the snapshots use. */
async function inventory(repo: PruneStore, opts: PruneOptions, say: (m: string) => void): Promise<Inventory> {
  // Snapshots first: a snapshot is saved after its index files and packs, so each one listed
  // here finds its data in the index files and packs listed after it.
  const snapshots = await readAll(repo);
  say('loading index files');
  const state = await repo.loadIndexState();
  if (state.damaged[0]) throw new EbakError('CORRUPT', `index/${state.damaged[0]} is damaged: prune needs every index file; nothing was deleted`, { hint: 'run `ebak repair index`, then prune again' });
  const stored = new Map((await repo.listPacks()).map((f): [string, FileInfo] => [f.name, f]));
  say('finding the data in use');
  const seen = new Set<string>();
  const used = await usedBy(repo, snapshots, seen, opts.signal);
  const packs: PlanPack<IndexedPack>[] = [];
  for (const { file } of state.current) {
    for (const pack of file.packs) packs.push({ pack, indexed: true });
    for (const pack of file.marked ?? []) packs.push({ pack, markedAt: pack.markedAt, indexed: true });
  }
  const unreadable = await addUnindexed(repo, packs, stored, opts);
  const plan = planPrune({ packs, stored, used, maxUnused: opts.maxUnused, maxRepackBytes: opts.maxRepackBytes, mustMove: opts.rewrite, now: (opts.now ?? Date.now)(), earlyDelete: opts.earlyDelete, pinned: pinnedBy(opts.pinned), repackArchived: opts.repackArchived });
  if (plan.missing.length)
    throw new EbakError('CORRUPT', `${plan.missing.length} blob(s) the snapshots need are in no stored pack (first: ${plan.missing[0]!.slice(0, 16)}); nothing was deleted`, { hint: 'run `ebak check` to see what is damaged' });
  return { plan, replaces: [...state.current.map((c) => c.name), ...state.superseded], currentFiles: state.current.length, seen, unreadable, stored };
}

const pinnedBy = (p: PruneOptions['pinned']) => (p === 'all' ? () => true : p && ((id: string) => p.has(id)));

/** Every snapshot; a damaged one stops prune: what it needs is unknown. */
async function readAll(repo: PruneStore): Promise<SnapshotEntry[]> {
  const { snapshots, damaged } = await repo.readSnapshots();
  if (damaged[0]) throw new EbakError(damaged[0].code, `${damaged[0].message}; prune cannot know what it needs, nothing was deleted`, { hint: 'run `ebak check`; forget the damaged snapshot by id to prune' });
  return snapshots;
}

/**
 * The blobs `snapshots` not in `seen` use (each is added to `seen`); the
 * loaded index must be at least as new as the snapshot listing. A tree
 * that cannot be read stops prune.
 */
async function usedBy(repo: PruneStore, snapshots: readonly SnapshotEntry[], seen: Set<string>, signal: AbortSignal | undefined): Promise<Set<string>> {
  const visitor = usedBlobs();
  for (const { id, snapshot } of snapshots.filter((s) => !seen.has(s.id))) {
    signal?.throwIfAborted();
    seen.add(id);
    await walk(repo, snapshot.tree, visitor);
  }
  return visitor.blobs;
}

/**
 * Stored packs no index covers are data (an interrupted backup, or one
 * running now that has not written its index yet): they are indexed from
 * their headers into the plan, never deleted unread. Archived ones and
 * damaged ones are left alone; returns the ids of those not read.
 */
async function addUnindexed(repo: PruneStore, packs: PlanPack<IndexedPack>[], stored: Map<string, FileInfo>, opts: PruneOptions): Promise<string[]> {
  const known = new Set(packs.map((p) => p.pack.id.toString('hex')));
  const unreadable: string[] = [];
  for (const f of stored.values()) {
    if (known.has(f.name)) continue;
    try {
      packs.push({ pack: await repo.readPackHeader(f.name), indexed: false });
    } catch (e) {
      if (!isEbakError(e)) throw e;
      unreadable.push(f.name);
      opts.onEvent?.({ type: 'warning', message: `data/${f.name} is in no index and its header cannot be read (${e.message}): left alone` });
    }
  }
  for (const id of unreadable) stored.delete(id);
  return unreadable;
}

/**
 * Copies the needed blobs out of every pack to repack into new packs (indexed
 * by the writer's own index files); the archived ones among them (`restore`)
 * are restored first: S3 keeps a readable copy while the repack reads it.
 */
async function repack(repo: PruneStore, pool: WorkerPool, plan: PrunePlan<IndexedPack>, restore: readonly string[], say: (m: string) => void, signal: AbortSignal | undefined): Promise<void> {
  if (plan.copy.size === 0) return;
  const reader = repo.blobReader(pool);
  if (restore.length > 0) {
    say(`restoring ${restore.length} archived packs before repacking them`);
    await reader.prepareRead?.(restore, (ready, total) => say(`restored ${ready} of ${total} archived packs`));
  }
  const writer = repo.repackWriter(pool);
  try {
    for (const d of plan.decisions) {
      const keep = plan.copy.get(d.id);
      if (!keep) continue;
      signal?.throwIfAborted();
      const { id, salt, kind, keySource, blobs } = d.plan.pack;
      const pack = { id: id.toString('hex'), salt, kind, keySource };
      for (const type of [BlobType.data, BlobType.tree]) {
        const located = blobs.filter((b) => b.type === type && keep.has(b.id.toString('hex'))).map((b) => ({ id: ownId(b.id), loc: { pack, ...b } }));
        const added: Promise<boolean>[] = [];
        await reader.readBlobs(type, located, (i, plain) => added.push(writer.add(type, located[i]!.id, plain)));
        await Promise.all(added);
      }
    }
    await writer.finish();
  } catch (e) {
    await writer.abandon().catch(() => undefined);
    throw e;
  }
}

/**
 * A copy of a blob id that owns its memory: the id crosses to a worker
 * (reading, sealing), and a message copies a view's whole buffer, here an
 * index file's bytes (EncodedPack) for every blob repacked.
 */
const ownId = (id: Buffer): Buffer => Buffer.from(owned(id).buffer);

/**
 * Phase 2: the marks no other holder's lock predates go. The snapshots
 * written since the plan are read first (their backups may have reused a
 * blob of a marked pack before they saw the mark): a mark they need is
 * recovered instead.
 */
async function deleteRipe(repo: PruneStore, lock: Lock, current: { name: string; file: IndexFile }, seen: Set<string>, say: (m: string) => void, opts: PruneOptions) {
  const signal = opts.signal;
  const marked: MarkedPack[] = current.file.marked ?? [];
  const starts = (await repo.otherLocks(lock)).map((l) => (l.started ? Date.parse(l.started) / 1000 : -Infinity));
  const ripe = ripeMarks(marked, starts);
  if (ripe.length === 0) return { deleted: [], pending: marked.length, recovered: 0, indexWritten: [] };
  const snapshots = await readAll(repo);
  await repo.refreshIndex(); // the trees of snapshots written meanwhile are in index files written before them
  const used = await usedBy(repo, snapshots, seen, signal);
  const next = deletingIndex(current.file, current.name, ripe, used);
  const empty = next.file.packs.length === 0 && next.file.marked.length === 0;
  const name = empty ? undefined : await repo.saveIndexFile(next.file);
  await removeRecorded(opts.head, 'indexes', [current.name], (n) => repo.removeIndexFile(n));
  say(`removing ${next.doomed.length} packs`);
  if (opts.deleter) await opts.deleter.removePacks(next.doomed, signal);
  else {
    for (const id of next.doomed) {
      signal?.throwIfAborted();
      await repo.removePack(id);
    }
  }
  return { deleted: next.doomed, pending: next.file.marked.length, recovered: next.recovered, indexWritten: name ? [name] : [] };
}
