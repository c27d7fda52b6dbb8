/**
 * The retention lock and legal hold rules (src/retention/lock.ts), table
 * driven: new locks, changes of governance and compliance locks inside and
 * after the changeable window (its edge instant included), removal, bad
 * requests, holds, and which snapshot is protected why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEbakError, type ErrorCode } from '../../src/errors.js';
import {
  addHold, applyLock, pastMaxDays, protectedReason, removeHold, removeLock, type LockRequest, type RetentionLock,
} from '../../src/retention/lock.js';

const T0 = new Date('2026-01-01T00:00:00Z');
const day = (n: number) => new Date(T0.getTime() + n * 86_400_000);
const req = (minDays: number, more: Partial<LockRequest> = {}): LockRequest => ({ mode: 'governance', minDays, changeableForDays: 3, ...more });
const lockAt = (r: LockRequest, at = T0): RetentionLock => applyLock(undefined, r, at).lock;
const code = (c: ErrorCode) => (e: unknown) => isEbakError(e, c);

describe('retention lock: a new lock', () => {
  it('records when it was set and until when it is changeable (default 3 days, 0 allowed)', () => {
    const { lock, needs } = applyLock(undefined, req(30, { maxDays: 90 }), T0);
    assert.deepEqual(lock, { mode: 'governance', min_days: 30, max_days: 90, set_at: T0.toISOString(), changeable_until: day(3).toISOString() });
    assert.equal(needs, 'none', 'setting the first lock only adds protection');
    assert.equal(lockAt(req(1, { mode: 'compliance', changeableForDays: 0 })).changeable_until, T0.toISOString());
  });

  const bad: [string, LockRequest][] = [
    ['max below min', req(30, { maxDays: 29 })],
    ['min 0', req(0)],
    ['min not whole', req(1.5)],
    ['min too large', req(36501)],
    ['changeable negative', req(1, { changeableForDays: -1 })],
    ['max 0', req(1, { maxDays: 0 })],
    ['unknown mode', req(1, { mode: 'strict' as never })],
  ];
  for (const [name, r] of bad) it(`refuses ${name} (USAGE)`, () => assert.throws(() => applyLock(undefined, r, T0), code('USAGE')));
  it('max equal to min is allowed', () => assert.equal(lockAt(req(30, { maxDays: 30 })).max_days, 30));
});

describe('retention lock: changes', () => {
  // [name, current lock, change, when, outcome: the need, or the error code]
  const gov = lockAt(req(30, { maxDays: 90 }));
  const comp = lockAt(req(30, { mode: 'compliance', maxDays: 90 }));
  const cases: [string, RetentionLock, LockRequest, Date, 'none' | 'authorization' | ErrorCode][] = [
    ['governance: shorter, any time, with authorization', gov, req(10), day(400), 'authorization'],
    ['governance: longer needs nothing', gov, req(60, { maxDays: 90 }), day(400), 'none'],
    ['governance: max removed weakens', gov, req(30), day(1), 'authorization'],
    ['governance → compliance only adds', gov, req(30, { mode: 'compliance', maxDays: 90 }), day(1), 'none'],
    ['compliance in its window: shorter, with authorization', comp, req(10, { mode: 'compliance' }), day(2), 'authorization'],
    ['compliance in its window: to governance, with authorization', comp, req(30, { maxDays: 90 }), day(2), 'authorization'],
    ['compliance one ms before the window ends: still changeable', comp, req(10, { mode: 'compliance' }), new Date(day(3).getTime() - 1), 'authorization'],
    ['compliance at the instant the window ends: frozen', comp, req(10, { mode: 'compliance' }), day(3), 'RETENTION'],
    ['compliance after: shorter refused', comp, req(29, { mode: 'compliance', maxDays: 90 }), day(10), 'RETENTION'],
    ['compliance after: to governance refused', comp, req(30, { maxDays: 90 }), day(10), 'RETENTION'],
    ['compliance after: max removed refused', comp, req(30, { mode: 'compliance' }), day(10), 'RETENTION'],
    ['compliance after: max lowered refused', comp, req(30, { mode: 'compliance', maxDays: 80 }), day(10), 'RETENTION'],
    ['compliance after: longer min allowed', comp, req(40, { mode: 'compliance', maxDays: 90 }), day(10), 'none'],
    ['compliance after: max raised allowed', comp, req(30, { mode: 'compliance', maxDays: 120 }), day(10), 'none'],
  ];
  for (const [name, cur, change, when, outcome] of cases) {
    it(name, () => {
      if (outcome === 'none' || outcome === 'authorization') assert.equal(applyLock(cur, change, when).needs, outcome);
      else assert.throws(() => applyLock(cur, change, when), code(outcome));
    });
  }

  it('a frozen lock keeps its dates when lengthened; a changeable one starts a new window', () => {
    const longer = applyLock(comp, req(40, { mode: 'compliance', maxDays: 90, changeableForDays: 30 }), day(10)).lock;
    assert.deepEqual([longer.set_at, longer.changeable_until, longer.min_days], [comp.set_at, comp.changeable_until, 40]);
    const moved = applyLock(gov, req(40, { changeableForDays: 5 }), day(10)).lock;
    assert.deepEqual([moved.set_at, moved.changeable_until], [gov.set_at, day(15).toISOString()]);
  });

  it('removal: governance with authorization any time, compliance only in its window, none → NOT_FOUND', () => {
    assert.equal(removeLock(gov, day(1000)), 'authorization');
    assert.equal(removeLock(comp, day(1)), 'authorization');
    assert.throws(() => removeLock(comp, day(3)), code('RETENTION'));
    assert.throws(() => removeLock(undefined, T0), code('NOT_FOUND'));
  });
});

describe('legal holds and protection', () => {
  const A = 'a'.repeat(64);
  const B = 'b'.repeat(64);

  it('add replaces a hold on the same snapshot, remove needs one, reasons are checked', () => {
    let holds = addHold([], A, 'case 1', T0);
    holds = addHold(holds, A, 'case 2', day(1));
    assert.deepEqual(holds, [{ snapshot: A, reason: 'case 2', added_at: day(1).toISOString() }]);
    assert.deepEqual(removeHold(holds, A), []);
    assert.throws(() => removeHold(holds, B), code('NOT_FOUND'));
    for (const reason of ['', 'x'.repeat(201), 'line\nbreak']) assert.throws(() => addHold([], A, reason, T0), code('USAGE'));
  });

  it('protectedReason: a hold first, then the lock until time + min_days (exclusive), else nothing', () => {
    const lock = lockAt(req(10, { maxDays: 20 }));
    const snap = { id: B, time: T0.toISOString() };
    const cases: [string, { id: string; time: string }, Date, string | undefined][] = [
      ['young', snap, day(5), 'retention lock until 2026-01-11T00:00:00Z'],
      ['one ms before the end', snap, new Date(day(10).getTime() - 1), 'retention lock until 2026-01-11T00:00:00Z'],
      ['at the end', snap, day(10), undefined],
      ['unreadable time counts as now', { id: B, time: 'garbage' }, day(100), 'retention lock until 2026-04-21T00:00:00Z'],
      ['held', { id: A, time: T0.toISOString() }, day(500), 'legal hold: audit 7'],
    ];
    const holds = addHold([], A, 'audit 7', T0);
    for (const [name, s, now, want] of cases) assert.equal(protectedReason(s, lock, holds, now), want, name);
    assert.equal(protectedReason(snap, undefined, [], T0), undefined, 'no lock, no hold');
    assert.equal(pastMaxDays(snap.time, lock, day(20)), false);
    assert.equal(pastMaxDays(snap.time, lock, day(21)), true);
    assert.equal(pastMaxDays(snap.time, lockAt(req(10)), day(9999)), false, 'no max_days: never too old');
  });
});
