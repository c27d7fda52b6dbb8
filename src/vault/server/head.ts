/**
 * Repository heads (issue 20; docs/vault.md "Repository head"): per account,
 * the snapshot ids and index file names its repository holds, as its
 * writers reported them, in one sealed record `head/<account>` that the
 * version map guards like every other (a replayed head is `state_rollback`).
 *
 * Each kind (snapshots, indexes) has three sets: live, pending (a removal
 * under way: neither presence nor absence is an alarm) and removed
 * (tombstones: present again in storage is a replay). A removed name never
 * comes back (names are hashes of freshly encrypted bytes, so no writer makes
 * the same name twice): adding it again is ignored, which keeps a replay
 * detectable even if a writer listed the replayed object. Tombstones keep
 * the newest MAX_TOMBSTONES per kind; live and pending sets are capped.
 *
 * Format 2 adds `seen`: when the vault first saw each live or pending
 * snapshot, the clock of retention locks (retention.ts refuses a delta that
 * removes a protected snapshot). A format 1 head is migrated on first use:
 * its snapshots count as first seen then, the conservative choice (none is
 * older than that for a lock).
 */
import { headDigest, VaultRefusal, type HeadDeltaRequest, type HeadPostResponse, type HeadResponse } from '../protocol.js';
import { currentHead, emptyHead, headId, migrateHead, type HeadRecord, type HeadRecordV1 } from './headrecord.js';
import type { Deps, Session } from './records.js';
import { protectedRemoval } from './retention.js';

export const MAX_TOMBSTONES = 10_000;
export const MAX_LIVE = 20_000;

/** One kind's sets; `removed` in the order removed (oldest first, for trimming). */
interface Kind {
  live: Set<string>;
  pending: Set<string>;
  removed: string[];
}

export interface DeltaCounts {
  added: number;
  pending: number;
  removed: number;
  /** Additions of names already live, pending or removed. */
  ignored: number;
}

function applyKind(k: Kind, add: readonly string[], remove: readonly string[], pending: boolean, n: DeltaCounts): void {
  const tomb = new Set(k.removed);
  for (const name of add) {
    if (tomb.has(name) || k.pending.has(name) || k.live.has(name)) {
      n.ignored++;
    } else {
      k.live.add(name);
      n.added++;
    }
  }
  for (const name of remove) {
    if (tomb.has(name) || (pending && k.pending.has(name))) continue;
    k.live.delete(name);
    if (pending) {
      k.pending.add(name);
      n.pending++;
    } else {
      k.pending.delete(name);
      k.removed.push(name);
      tomb.add(name);
      n.removed++;
    }
  }
  if (k.removed.length > MAX_TOMBSTONES) k.removed.splice(0, k.removed.length - MAX_TOMBSTONES);
  if (k.live.size > MAX_LIVE || k.pending.size > MAX_LIVE) throw new VaultRefusal('forbidden', `a repository head holds at most ${MAX_LIVE} live or pending names of each kind`);
}

/**
 * The head after `delta`, and what changed; `next` is undefined when nothing
 * did (no new seq). `at` (the vault's clock) is recorded as the first sight
 * of each snapshot new to it. Pure given `at`: the unit tests drive it directly.
 */
export function applyDelta(cur: HeadRecord, delta: HeadDeltaRequest, at = new Date().toISOString()): { next: HeadRecord | undefined; counts: DeltaCounts } {
  const pending = delta.pending === true;
  const counts: DeltaCounts = { added: 0, pending: 0, removed: 0, ignored: 0 };
  const snaps: Kind = { live: new Set(cur.snapshots), pending: new Set(cur.pending_snapshots), removed: [...cur.removed_snapshots] };
  const idx: Kind = { live: new Set(cur.indexes), pending: new Set(cur.pending_indexes), removed: [...cur.removed_indexes] };
  applyKind(snaps, delta.add_snapshots ?? [], delta.remove_snapshots ?? [], pending, counts);
  applyKind(idx, delta.add_indexes ?? [], delta.remove_indexes ?? [], pending, counts);
  if (counts.added + counts.pending + counts.removed === 0) return { next: undefined, counts };
  const sorted = (s: Set<string>) => [...s].sort();
  const seen: Record<string, string> = {};
  for (const id of [...snaps.live, ...snaps.pending].sort()) seen[id] = cur.seen[id] ?? at;
  return {
    counts,
    next: {
      format: 2, seq: cur.seq + 1, snapshots: sorted(snaps.live), indexes: sorted(idx.live), pending_snapshots: sorted(snaps.pending),
      pending_indexes: sorted(idx.pending), removed_snapshots: snaps.removed, removed_indexes: idx.removed, seen,
    },
  };
}

function response(account: string, h: HeadRecord): HeadResponse {
  const { format: _format, seen: _seen, ...state } = h;
  return { ...state, digest: headDigest(account, state) };
}

/** `GET /v1/head`: the caller's repository head (seq 0 and empty sets before the first post). */
export async function readHead(d: Deps, s: Session): Promise<HeadResponse> {
  const account = s.account.account;
  return response(account, await currentHead(d, account));
}

/**
 * `POST /v1/head`: applies a delta under the record's lock; one audit entry
 * per change (counts, not names). A delta removing a snapshot the retention
 * lock or a legal hold protects is refused whole (`retention`) and audited.
 */
export async function postHead(d: Deps, s: Session, delta: HeadDeltaRequest): Promise<HeadPostResponse> {
  const account = s.account.account;
  let counts: DeltaCounts | undefined;
  try {
    const rec = await d.state.update<HeadRecord | HeadRecordV1>(headId(account), async (stored) => {
      const now = d.now();
      const cur = migrateHead(stored ?? emptyHead(), now.toISOString());
      const refused = await protectedRemoval(d, account, cur, delta, now);
      if (refused) throw new Refused(refused.snapshot, refused.reason);
      const r = applyDelta(cur, delta, now.toISOString());
      counts = r.counts;
      if (!r.next) throw new Unchanged(cur);
      return r.next;
    }) as HeadRecord;
    const digest = response(account, rec).digest;
    await d.audit.append('head.update', account, { device: s.device.id, seq: rec.seq, digest, ...counts });
    return { seq: rec.seq, digest };
  } catch (e) {
    if (e instanceof Refused) {
      await d.audit.append('retention.refuse', account, { device: s.device.id, snapshot: e.snapshot, reason: e.reason.startsWith('legal hold') ? 'legal hold' : 'retention lock' });
      throw new VaultRefusal('retention', `snapshot ${e.snapshot.slice(0, 8)} is protected (${e.reason}): the vault refuses to remove it`);
    }
    if (!(e instanceof Unchanged)) throw e;
    return { seq: e.head.seq, digest: response(account, e.head).digest };
  }
}

/** Aborts an update that would remove a protected snapshot. */
class Refused extends Error {
  constructor(readonly snapshot: string, readonly reason: string) {
    super('refused');
  }
}

/** Aborts an update that would change nothing: no new version, no audit entry. */
class Unchanged extends Error {
  constructor(readonly head: HeadRecord) {
    super('unchanged');
  }
}
