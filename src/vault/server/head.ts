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
 *
 * Format 3 attributes what write-only devices add (issue 20): such a device
 * cannot be made to prove that a name it posts is stored (the vault never
 * reads storage), so its additions are *unconfirmed* until a full device
 * lists them in storage and adds them again (which confirms them). A full
 * device's check tells an unconfirmed name missing from storage ("posted by
 * write-only device X") from a rollback; at most MAX_UNCONFIRMED per device
 * are held (more is `forbidden`), and revoking the device forgets the
 * unconfirmed names it posted (devices.ts), with no tombstone, so a real one
 * still in storage is only adopted again. So a write-only or patched device
 * can no longer make every full device raise false rollback alarms.
 */
import { headDigest, VaultRefusal, type HeadDeltaRequest, type HeadPostResponse, type HeadResponse } from '../protocol.js';
import { currentHead, emptyHead, headId, migrateHead, type HeadRecord, type StoredHead } from './headrecord.js';
import { mergedRecord, packRecord, spId, type PackRecord } from './packrecord.js';
import type { Deps, Session } from './records.js';
import { protectedRemoval } from './retention.js';

export const MAX_TOMBSTONES = 10_000;
export const MAX_LIVE = 20_000;
/** Unconfirmed names (snapshots and index files) one write-only device may have in the head. */
export const MAX_UNCONFIRMED = 2_000;

/** One kind's sets; `removed` in the order removed (oldest first, for trimming); `unconfirmed`: live name → write-only device. */
interface Kind {
  live: Set<string>;
  pending: Set<string>;
  removed: string[];
  unconfirmed: Map<string, string>;
}

export interface DeltaCounts {
  added: number;
  pending: number;
  removed: number;
  /** Additions of names already live, pending or removed. */
  ignored: number;
  /** Unconfirmed names a full device added again (it saw them in storage). */
  confirmed: number;
}

/** `writer`: the write-only device posting, undefined for a full device. */
function applyKind(k: Kind, add: readonly string[], remove: readonly string[], pending: boolean, n: DeltaCounts, writer: string | undefined): void {
  const tomb = new Set(k.removed);
  for (const name of add) {
    if (writer === undefined && k.live.has(name) && k.unconfirmed.delete(name)) {
      n.confirmed++;
    } else if (tomb.has(name) || k.pending.has(name) || k.live.has(name)) {
      n.ignored++;
    } else {
      k.live.add(name);
      if (writer !== undefined) k.unconfirmed.set(name, writer);
      n.added++;
    }
  }
  for (const name of remove) {
    if (tomb.has(name) || (pending && k.pending.has(name))) continue;
    k.live.delete(name);
    k.unconfirmed.delete(name);
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
export function applyDelta(cur: HeadRecord, delta: HeadDeltaRequest, at = new Date().toISOString(), writer?: string): { next: HeadRecord | undefined; counts: DeltaCounts } {
  const pending = delta.pending === true;
  const counts: DeltaCounts = { added: 0, pending: 0, removed: 0, ignored: 0, confirmed: 0 };
  const { snaps, idx } = kinds(cur);
  applyKind(snaps, delta.add_snapshots ?? [], delta.remove_snapshots ?? [], pending, counts, writer);
  applyKind(idx, delta.add_indexes ?? [], delta.remove_indexes ?? [], pending, counts, writer);
  if (counts.added + counts.pending + counts.removed + counts.confirmed === 0) return { next: undefined, counts };
  if (writer !== undefined && countOf(snaps, writer) + countOf(idx, writer) > MAX_UNCONFIRMED)
    throw new VaultRefusal('forbidden', `write-only device ${writer} would have more than ${MAX_UNCONFIRMED} names in the repository head that no full device has seen in storage: any command on a full device confirms them`);
  return { counts, next: record(cur, snaps, idx, at) };
}

/**
 * The head without the unconfirmed names write-only device `device` added
 * (its revocation): dropped from the live sets with no tombstone, so one
 * that is in storage after all is only unknown to the next check, never a
 * replay. Undefined when it had none; else the head and how many went.
 */
export function forgetUnconfirmed(cur: HeadRecord, device: string, at = new Date().toISOString()): { next: HeadRecord; forgotten: number } | undefined {
  const { snaps, idx } = kinds(cur);
  let forgotten = 0;
  for (const k of [snaps, idx]) {
    for (const [name, by] of k.unconfirmed) {
      if (by !== device) continue;
      k.unconfirmed.delete(name);
      k.live.delete(name);
      forgotten++;
    }
  }
  return forgotten === 0 ? undefined : { next: record(cur, snaps, idx, at), forgotten };
}

function kinds(cur: HeadRecord): { snaps: Kind; idx: Kind } {
  const kind = (live: string[], pending: string[], removed: string[], unconfirmed: Record<string, string>): Kind =>
    ({ live: new Set(live), pending: new Set(pending), removed: [...removed], unconfirmed: new Map(Object.entries(unconfirmed)) });
  return {
    snaps: kind(cur.snapshots, cur.pending_snapshots, cur.removed_snapshots, cur.unconfirmed_snapshots),
    idx: kind(cur.indexes, cur.pending_indexes, cur.removed_indexes, cur.unconfirmed_indexes),
  };
}

const countOf = (k: Kind, device: string) => [...k.unconfirmed.values()].filter((x) => x === device).length;

/** The next head (seq + 1) of these sets; a snapshot new to the head is first seen `at`. */
function record(cur: HeadRecord, snaps: Kind, idx: Kind, at: string): HeadRecord {
  const sorted = (s: Set<string>) => [...s].sort();
  const seen: Record<string, string> = {};
  for (const id of [...snaps.live, ...snaps.pending].sort()) seen[id] = cur.seen[id] ?? at;
  const map = (m: Map<string, string>) => Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    format: 3, seq: cur.seq + 1, snapshots: sorted(snaps.live), indexes: sorted(idx.live), pending_snapshots: sorted(snaps.pending),
    pending_indexes: sorted(idx.pending), removed_snapshots: snaps.removed, removed_indexes: idx.removed, seen,
    unconfirmed_snapshots: map(snaps.unconfirmed), unconfirmed_indexes: map(idx.unconfirmed),
  };
}

function response(account: string, h: HeadRecord): HeadResponse {
  const { format: _format, seen: _seen, unconfirmed_snapshots, unconfirmed_indexes, ...state } = h;
  return { ...state, digest: headDigest(account, state), unconfirmed_snapshots, unconfirmed_indexes };
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
 * The delta's `packs` become the pack records (packrecord.ts) of the
 * snapshots it makes live, or grow those of snapshots live already, in the
 * same commit as the head (SealedState.updateAll): so no other device's
 * request can come between the record and the addition.
 */
export async function postHead(d: Deps, s: Session, delta: HeadDeltaRequest): Promise<HeadPostResponse> {
  const account = s.account.account;
  const ids = [headId(account), ...Object.keys(delta.packs ?? {}).map((id) => spId(account, id))];
  let change: HeadChange | undefined;
  try {
    await d.state.updateAll<StoredHead | PackRecord>(ids, async (stored) => {
      change = await headChange(d, s, delta, stored);
      if (change.writes.size === 0) throw new Unchanged(change.head);
      return change.writes;
    });
    const { head, changed, counts, recorded } = change!;
    const digest = response(account, head).digest;
    // A post that only merged packs into records of live snapshots changed no head: no new seq, no head.update.
    if (changed) await d.audit.append('head.update', account, { device: s.device.id, seq: head.seq, digest, ...counts, ...(recorded > 0 ? { recorded } : {}) });
    return { seq: head.seq, digest };
  } catch (e) {
    if (e instanceof Refused) {
      await d.audit.append('retention.refuse', account, { device: s.device.id, snapshot: e.snapshot, reason: e.reason.startsWith('legal hold') ? 'legal hold' : 'retention lock' });
      throw new VaultRefusal('retention', `snapshot ${e.snapshot.slice(0, 8)} is protected (${e.reason}): the vault refuses to remove it`);
    }
    if (!(e instanceof Unchanged)) throw e;
    return { seq: e.head.seq, digest: response(account, e.head).digest };
  }
}

/** What one head post writes: the head (when it changed) and the pack records, by record id. */
interface HeadChange {
  /** The head after the post (the current one when it did not change). */
  head: HeadRecord;
  changed: boolean;
  counts: DeltaCounts;
  writes: Map<string, StoredHead | PackRecord>;
  /** Pack records made or grown. */
  recorded: number;
}

/** The head post's change from the records as `stored`; throws Refused for a protected snapshot's removal. */
async function headChange(d: Deps, s: Session, delta: HeadDeltaRequest, stored: ReadonlyMap<string, StoredHead | PackRecord | undefined>): Promise<HeadChange> {
  const account = s.account.account;
  const now = d.now();
  const cur = migrateHead((stored.get(headId(account)) as StoredHead | undefined) ?? emptyHead(), now.toISOString());
  const refused = await protectedRemoval(d, account, cur, delta, now);
  if (refused) throw new Refused(refused.snapshot, refused.reason);
  const r = applyDelta(cur, delta, now.toISOString(), s.device.kind === 'write-only' ? s.device.id : undefined);
  const head = r.next ?? cur;
  const writes = new Map<string, StoredHead | PackRecord>(r.next ? [[headId(account), r.next]] : []);
  for (const [id, packs] of Object.entries(delta.packs ?? {})) {
    const rec = packRecordAfter(cur, head, id, stored.get(spId(account, id)) as PackRecord | undefined, packs, s.device.id, now);
    if (rec) writes.set(spId(account, id), rec);
  }
  return { head, changed: r.next !== undefined, counts: r.counts, writes, recorded: writes.size - (r.next ? 1 : 0) };
}

/**
 * Snapshot `id`'s pack record after the delta from `cur` to `next` that carries `packs` for it (packrecord.ts):
 * made anew when the delta made it live, merged when it was live already (another device's addition, or a
 * write-only device's this post confirms); undefined when nothing is to be written (a repeat, or the delta
 * ignored it: pending or removed).
 */
function packRecordAfter(cur: HeadRecord, next: HeadRecord, id: string, rec: PackRecord | undefined, packs: readonly string[], device: string, now: Date): PackRecord | undefined {
  if (!next.snapshots.includes(id)) return undefined;
  return cur.snapshots.includes(id) ? mergedRecord(rec, packs, device, now) : packRecord(packs, device, now);
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

/** Revoking write-only device `device`: its unconfirmed names leave the head (forgetUnconfirmed), audited as one head update. */
export async function forgetDeviceNames(d: Deps, account: string, device: string, by: string): Promise<void> {
  let forgotten = 0;
  try {
    const rec = await d.state.update<StoredHead>(headId(account), (stored) => {
      const cur = migrateHead(stored ?? emptyHead(), d.now().toISOString());
      const r = forgetUnconfirmed(cur, device, d.now().toISOString());
      if (!r) throw new Unchanged(cur);
      forgotten = r.forgotten;
      return r.next;
    }) as HeadRecord;
    await d.audit.append('head.update', account, { device: by, seq: rec.seq, digest: response(account, rec).digest, forgotten, of: device });
  } catch (e) {
    if (!(e instanceof Unchanged)) throw e;
  }
}
