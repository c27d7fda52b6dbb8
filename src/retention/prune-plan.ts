/**
 * Prune's plan (docs/format.md, "Deleting data"; restic's prune decisions):
 * given every pack the index knows (live, marked for deletion, or read from
 * the header of a pack no index covers), the stored packs and the blobs the
 * snapshots need, decide each pack's fate. One copy of each needed blob is
 * its keeper; a pack without keepers is marked, a pack of keepers only is
 * kept, and a partly used pack is repacked while the unused space left
 * exceeds `--max-unused` and the repacked bytes stay under
 * `--max-repack-size` (restic's rule: the most unused first). Marked packs a
 * snapshot needs again are recovered (live again); packs in an archive
 * storage class are never repacked (that needs a restore) unless
 * `repackArchived` says so, and deleted otherwise only when wholly unused
 * and past their class's minimum storage duration;
 * a pack in a class with a minimum (STANDARD_IA ...) younger than it is held
 * back, neither repacked nor deleted (S3 bills the rest of the minimum
 * anyway), unless `earlyDelete` consents. Packs `mustMove` names (a
 * master-key rotation's --rewrite: sealed under an old key) are repacked
 * whatever they hold. Pure: no storage; the clock is `now`.
 */

/** What the plan needs of an index entry (the repository's IndexedPack has this shape). */
export interface PackEntry {
  readonly id: Buffer;
  readonly blobs: readonly { readonly id: Buffer; readonly length: number }[];
}

/** restic's `--max-unused`: a share of the repository, a size, or unlimited. */
export type MaxUnused = { percent: number } | { bytes: number } | 'unlimited';

export interface PlanPack<P extends PackEntry = PackEntry> {
  readonly pack: P;
  /** Unix seconds it was marked for deletion, when it is. */
  readonly markedAt?: number;
  /** False for a pack no index covered (read from its own header). */
  readonly indexed: boolean;
}

export interface StoredPack {
  readonly size: number;
  readonly storageClass?: string;
  /** When it was stored (ms; S3: LastModified, which a copy into another class resets, as the minimum does). */
  readonly modified?: number;
}

export interface PlanInput<P extends PackEntry = PackEntry> {
  readonly packs: readonly PlanPack<P>[];
  readonly stored: ReadonlyMap<string, StoredPack>;
  /** Blob ids (hex) the snapshots need. */
  readonly used: ReadonlySet<string>;
  readonly maxUnused: MaxUnused;
  readonly maxRepackBytes: number;
  /** The clock (ms) minimum storage durations are measured at; without it none holds a pack back. */
  readonly now?: number | undefined;
  /** Delete and repack packs younger than their class's minimum storage duration all the same. */
  readonly earlyDelete?: boolean | undefined;
  /** Packs kept whole (a protected snapshot's, as the vault recorded them): every blob counts as used, so none is marked or repacked. */
  readonly pinned?: ((id: string) => boolean) | undefined;
  /** Plan packs in an archive class like the others (prune's --repack-archived: they are restored before the repack reads them). */
  readonly repackArchived?: boolean | undefined;
}

/** The plan's input; `mustMove`: packs to repack whatever the limits (their used blobs move to new packs). */
export type PruneInput<P extends PackEntry = PackEntry> = PlanInput<P> & { readonly mustMove?: ((pack: P) => boolean) | undefined };

/**
 * keep: stays live. repack: its needed blobs are copied, then it is marked.
 * mark: nothing needs it; marked. marked: already marked, still unneeded.
 * recover: marked, but needed again: live again. archived: in an archive
 * storage class, left as it is. held: would be marked or repacked, but is
 * younger than its class's minimum storage duration: stays live. drop:
 * indexed but not stored (nothing needs it): left out of the new index.
 */
export type PackAction = 'keep' | 'repack' | 'mark' | 'marked' | 'recover' | 'archived' | 'held' | 'drop';

export interface PackDecision<P extends PackEntry = PackEntry> {
  readonly id: string;
  action: PackAction;
  readonly plan: PlanPack<P>;
  /** Stored size (0 when not stored). */
  readonly size: number;
  usedBlobs: number;
  usedBytes: number;
  unusedBlobs: number;
  unusedBytes: number;
  /** A held pack's class and the end of its minimum (ms). */
  held?: { storageClass: string; until: number };
  /** Its archive class, when it is in one (GLACIER, DEEP_ARCHIVE): reading it needs a restore. */
  readonly archived?: string;
}

export interface PrunePlan<P extends PackEntry = PackEntry> {
  readonly decisions: PackDecision<P>[];
  /** Needed blob ids with no stored copy: prune refuses (check names them). */
  readonly missing: string[];
  /** Per repacked pack id, the blob ids to copy out of it. */
  readonly copy: ReadonlyMap<string, Set<string>>;
}

/** GLACIER and DEEP_ARCHIVE need a restore before a read: prune never repacks their packs. */
export const ARCHIVE_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

/** S3's minimum storage durations in days: an object deleted (or moved) earlier is billed the rest. */
export const MIN_STORAGE_DAYS: Readonly<Record<string, number>> = { STANDARD_IA: 30, ONEZONE_IA: 30, GLACIER_IR: 90, GLACIER: 90, DEEP_ARCHIVE: 180 };

export function planPrune<P extends PackEntry>(input: PruneInput<P>): PrunePlan<P> {
  const keeper = chooseKeepers(input);
  const missing = [...input.used].filter((id) => !keeper.has(id));
  const decisions = input.packs.map((p) => measure(p, input, keeper));
  chooseRepacks(decisions, input);
  for (const d of decisions) if ((d.action === 'keep' || d.action === 'recover') && input.mustMove?.(d.plan.pack)) d.action = 'repack';
  const copy = new Map<string, Set<string>>();
  for (const d of decisions) {
    if (d.action !== 'repack') continue;
    copy.set(d.id, new Set(d.plan.pack.blobs.map((b) => b.id.toString('hex')).filter((b) => keeper.get(b) === d.id)));
  }
  return { decisions, missing, copy };
}

/** Which stored pack holds the copy of each needed blob that is kept: archived first (they cannot move), then live, then marked. */
function chooseKeepers(input: PlanInput): Map<string, string> {
  const rank = (p: PlanPack) => (isArchived(p, input.stored) ? 0 : p.markedAt !== undefined ? 2 : 1);
  const ordered = input.packs.map((p, i) => ({ p, i })).sort((a, b) => rank(a.p) - rank(b.p) || a.i - b.i);
  const keeper = new Map<string, string>();
  for (const { p } of ordered) {
    const id = p.pack.id.toString('hex');
    if (!input.stored.has(id)) continue;
    for (const b of p.pack.blobs) {
      const hex = b.id.toString('hex');
      if (input.used.has(hex) && !keeper.has(hex)) keeper.set(hex, id);
    }
  }
  return keeper;
}

function isArchived(p: PlanPack, stored: ReadonlyMap<string, StoredPack>): boolean {
  return ARCHIVE_CLASSES.has(stored.get(p.pack.id.toString('hex'))?.storageClass ?? 'STANDARD');
}

function measure<P extends PackEntry>(p: PlanPack<P>, input: PlanInput, keeper: ReadonlyMap<string, string>): PackDecision<P> {
  const stored = input.stored;
  const id = p.pack.id.toString('hex');
  const cls = isArchived(p, stored) ? { archived: stored.get(id)!.storageClass! } : {};
  const d: PackDecision<P> = { id, action: 'keep', plan: p, size: stored.get(id)?.size ?? 0, usedBlobs: 0, usedBytes: 0, unusedBlobs: 0, unusedBytes: 0, ...cls };
  const whole = input.pinned?.(id) === true;
  for (const b of p.pack.blobs) {
    if (whole || keeper.get(b.id.toString('hex')) === id) {
      d.usedBlobs++;
      d.usedBytes += b.length;
    } else {
      d.unusedBlobs++;
      d.unusedBytes += b.length;
    }
  }
  const held = heldUntil(stored.get(id), input);
  return { ...d, action: firstAction(p, d, input), ...(held ? { held } : {}) };
}

/** Every action but the repack choice, which weighs the packs against each other. */
function firstAction(p: PlanPack, d: PackDecision, input: PlanInput): PackAction {
  const stored = input.stored.get(d.id);
  if (!stored) return 'drop';
  const held = heldUntil(stored, input) !== undefined;
  if (isArchived(p, input.stored) && !input.repackArchived) {
    // Deleted only once wholly unused and known to be past its minimum; never repacked.
    if (d.usedBlobs > 0 || p.markedAt !== undefined || stored.modified === undefined || input.now === undefined) return 'archived';
    return held ? 'held' : 'mark';
  }
  if (p.markedAt !== undefined) return d.usedBlobs > 0 ? 'recover' : 'marked';
  if (d.usedBlobs === 0) return held ? 'held' : 'mark';
  return 'keep';
}

/** The end (ms) of the pack's minimum storage duration, when it has not passed and no consent to delete early was given. */
function heldUntil(s: StoredPack | undefined, input: PlanInput): { storageClass: string; until: number } | undefined {
  const days = MIN_STORAGE_DAYS[s?.storageClass ?? 'STANDARD'];
  if (!s || days === undefined || s.modified === undefined || input.now === undefined || input.earlyDelete) return undefined;
  const until = s.modified + days * 86_400_000;
  return until > input.now ? { storageClass: s.storageClass!, until } : undefined;
}

/** restic's choice: partly used packs, the largest unused share first, while too much unused would remain. */
function chooseRepacks(decisions: PackDecision[], input: PlanInput): void {
  const staying = decisions.filter((d) => d.action === 'keep' || d.action === 'recover' || d.action === 'archived' || d.action === 'held');
  const used = staying.reduce((n, d) => n + d.usedBytes, 0);
  let unused = staying.reduce((n, d) => n + d.unusedBytes, 0);
  const limit = unusedLimit(input.maxUnused, used);
  const candidates = decisions.filter((d) => d.action === 'keep' && d.unusedBlobs > 0)
    .sort((a, b) => b.unusedBytes / (b.usedBytes + b.unusedBytes) - a.unusedBytes / (a.usedBytes + a.unusedBytes) || (a.id < b.id ? -1 : 1));
  let repacked = 0;
  for (const d of candidates) {
    const bytes = d.usedBytes + d.unusedBytes;
    if (unused <= limit || repacked + bytes > input.maxRepackBytes) continue;
    if (d.held) {
      d.action = 'held';
      continue;
    }
    d.action = 'repack';
    unused -= d.unusedBytes;
    repacked += bytes;
  }
}

/** restic: p% means unused / (used + unused) ≤ p, that is unused ≤ used · p / (100 − p). */
export function unusedLimit(max: MaxUnused, usedBytes: number): number {
  if (max === 'unlimited') return Infinity;
  if ('bytes' in max) return max.bytes;
  return (usedBytes * max.percent) / (100 - max.percent);
}

/** The summary restic prints, from the decisions. */
export interface PruneStats {
  toRepack: { blobs: number; bytes: number };
  repackRemoves: { blobs: number; bytes: number };
  toDelete: { blobs: number; bytes: number };
  remaining: { blobs: number; bytes: number };
  unusedAfter: number;
  /** Stored bytes the plan frees: deleted packs whole, repacked packs but for what is copied out. */
  freed: number;
  packs: { used: number; partlyUsed: number; unused: number; keep: number; repack: number; delete: number; archived: number };
}

export function pruneStats(plan: PrunePlan): PruneStats {
  const s: PruneStats = {
    toRepack: { blobs: 0, bytes: 0 }, repackRemoves: { blobs: 0, bytes: 0 }, toDelete: { blobs: 0, bytes: 0 }, remaining: { blobs: 0, bytes: 0 }, unusedAfter: 0, freed: 0,
    packs: { used: 0, partlyUsed: 0, unused: 0, keep: 0, repack: 0, delete: 0, archived: 0 },
  };
  for (const d of plan.decisions) {
    if (d.action === 'drop') continue;
    if (d.usedBlobs === 0) s.packs.unused++;
    else if (d.unusedBlobs === 0) s.packs.used++;
    else s.packs.partlyUsed++;
    if (d.action === 'repack') {
      s.packs.repack++;
      add(s.toRepack, d.usedBlobs, d.usedBytes);
      add(s.repackRemoves, d.unusedBlobs, d.unusedBytes);
      add(s.remaining, d.usedBlobs, d.usedBytes);
      s.freed += d.size - d.usedBytes;
    } else if (d.action === 'mark' || d.action === 'marked') {
      s.packs.delete++;
      add(s.toDelete, d.unusedBlobs, d.size);
      s.freed += d.size;
    } else {
      s.packs[d.action === 'archived' ? 'archived' : 'keep']++; // a held pack is kept
      add(s.remaining, d.usedBlobs + d.unusedBlobs, d.usedBytes + d.unusedBytes);
      s.unusedAfter += d.unusedBytes;
    }
  }
  return s;
}

function add(t: { blobs: number; bytes: number }, blobs: number, bytes: number): void {
  t.blobs += blobs;
  t.bytes += bytes;
}
