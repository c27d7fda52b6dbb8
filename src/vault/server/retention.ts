/**
 * Retention locks and legal holds, decided by the vault (issue 15;
 * docs/vault.md "Retention lock"): per account one sealed record
 * `ret/<account>` = {format: 1, lock, holds}, guarded by the version map like
 * every record, changed through POST /v1/retention under the rules of
 * src/retention/lock.ts with the vault's own clock. Every change is one
 * audit entry; so is every refusal of a removal.
 *
 * The vault decides deletion: head.ts asks `refusal` before it marks a
 * snapshot pending or removed, and refuses the whole delta when the lock or
 * a hold protects one. A snapshot's age is counted from the time the vault
 * first saw it in the head (head.ts `seen`), never from the time the
 * snapshot claims (docs/security.md says why).
 *
 * Every lock change, unlock and hold removal needs a step-up grant (a fresh
 * login): a device token alone could otherwise lift a governance lock, or
 * set a compliance lock nobody can ever remove (as policy.ts, a change that
 * only adds protection is no safer to leave to a thief). Adding a hold does
 * not: a hold is lifted again with the password.
 */
import { EbakError } from '../../errors.js';
import { addHold, applyLock, protectedReason, removeHold, removeLock, type LegalHold, type RetentionLock } from '../../retention/lock.js';
import { VaultRefusal, type HeadDeltaRequest, type RetentionRequest, type RetentionResponse } from '../protocol.js';
import { currentHead, type HeadRecord } from './headrecord.js';
import type { Deps, Session } from './records.js';
import { requireStepUp } from './stepup.js';

export interface RetentionRecord {
  format: 1;
  lock?: RetentionLock;
  holds: LegalHold[];
}

export const retId = (a: string) => `ret/${a}`;
const empty = (): RetentionRecord => ({ format: 1, holds: [] });

/** The account's lock and holds (none: no lock, no holds); deletion.ts reads them too. */
export async function retentionRecord(d: Deps, account: string): Promise<RetentionRecord> {
  return (await d.state.read<RetentionRecord>(retId(account)))?.value ?? empty();
}

function response(rec: RetentionRecord, head: HeadRecord, now: Date): RetentionResponse {
  return { lock: rec.lock ?? null, holds: rec.holds, seen: head.seen, now: now.toISOString() };
}

/** `GET /v1/retention`: the lock, the holds, the head's first sightings and the vault's clock. */
export async function readRetention(d: Deps, s: Session): Promise<RetentionResponse> {
  const account = s.account.account;
  return response(await retentionRecord(d, account), await currentHead(d, account), d.now());
}

/** `POST /v1/retention`: one change under the record's lock, audited. */
export async function postRetention(d: Deps, s: Session, req: RetentionRequest): Promise<RetentionResponse> {
  const account = s.account.account;
  const now = d.now();
  if (req.op !== 'hold') requireStepUp(d, s, req.step_up, 'changing the retention lock or removing a legal hold');
  const head = await currentHead(d, account);
  if (req.op === 'hold' && !head.snapshots.includes(req.snapshot))
    throw new VaultRefusal('not_found', `the repository head holds no live snapshot ${req.snapshot.slice(0, 8)}: a legal hold names a snapshot the repository holds`);
  const rec = await d.state.update<RetentionRecord>(retId(account), (cur) => rules(() => apply(cur ?? empty(), req, now)));
  await d.audit.append(`retention.${req.op}`, account, { device: s.device.id, ...detail(rec, req) });
  return response(rec, head, now);
}

function apply(cur: RetentionRecord, req: RetentionRequest, now: Date): RetentionRecord {
  const { lock, holds } = cur;
  switch (req.op) {
    case 'lock': {
      const next = applyLock(lock, { mode: req.mode, minDays: req.min_days, maxDays: req.max_days, changeableForDays: req.changeable_for_days }, now).lock;
      return { format: 1, lock: next, holds };
    }
    case 'unlock':
      removeLock(lock, now);
      return { format: 1, holds };
    case 'hold':
      return { ...cur, holds: addHold(holds, req.snapshot, req.reason, now) };
    case 'release':
      return { ...cur, holds: removeHold(holds, req.snapshot) };
  }
}

/** What the audit entry says: the lock as it now is, the snapshot a hold names (never its reason), the count of holds. */
function detail(rec: RetentionRecord, req: RetentionRequest): Record<string, unknown> {
  return { lock: rec.lock ?? null, holds: rec.holds.length, ...('snapshot' in req ? { snapshot: req.snapshot } : {}) };
}

/** The rules' EbakErrors as the wire's refusals: RETENTION → `retention`, NOT_FOUND → `not_found`, USAGE → `bad_request`. */
function rules<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof EbakError)) throw e;
    throw new VaultRefusal(e.code === 'RETENTION' ? 'retention' : e.code === 'NOT_FOUND' ? 'not_found' : 'bad_request', e.message);
  }
}

/**
 * The first snapshot `delta` would remove that the lock or a hold protects
 * at `now`, with the reason; undefined when none. Only snapshots live in the
 * head count: a pending one passed this check when it was marked.
 */
export async function protectedRemoval(d: Deps, account: string, head: HeadRecord, delta: HeadDeltaRequest, now: Date): Promise<{ snapshot: string; reason: string } | undefined> {
  const live = (delta.remove_snapshots ?? []).filter((id) => head.snapshots.includes(id));
  if (live.length === 0) return undefined;
  const rec = await retentionRecord(d, account);
  for (const id of live) {
    const reason = protectedReason({ id, time: head.seen[id] ?? now.toISOString() }, rec.lock, rec.holds, now);
    if (reason) return { snapshot: id, reason };
  }
  return undefined;
}
