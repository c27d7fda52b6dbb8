/**
 * The vault decides deletion (server/retention.ts, server/head.ts): a real
 * vault (SoftHSM, simulated key service, TLS) on a clock the test moves.
 * The lock and holds are set through POST /v1/retention (step-up where a
 * change weakens protection or sets a lock); a head delta removing a
 * protected snapshot is refused whole and audited; a snapshot's age counts
 * from the vault's first sight of it; a frozen compliance lock refuses
 * removal; a hold needs a live snapshot. Also the strict reader and the
 * head's format 1 → 2 migration, without a vault.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { VaultClient } from '../../src/vault/client/client.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { readRetentionChange, VaultRefusal, type RetentionRequest } from '../../src/vault/protocol.js';
import { emptyHead, migrateHead, type HeadRecordV1 } from '../../src/vault/server/headrecord.js';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';

const DAY = 86_400_000;
const id = () => randomBytes(32).toString('hex');
const refused = (vaultCode: string, code?: string) => (e: unknown) => e instanceof VaultError && e.vaultCode === vaultCode && (code === undefined || e.code === code);

describe('retention decided by the vault', { timeout: 120_000 }, () => {
  let l: Lab;
  let v: Running;
  let c: VaultClient;
  let offset = 0;
  let n = 0;
  /** Moves the vault's clock `days` ahead. */
  const later = (days: number) => void (offset += days * DAY);
  before(async () => {
    l = await lab();
    // The clock only moves forward (the rate limiter's buckets follow it); sessions outlive the test's ~140 days.
    v = await l.start({ now: () => new Date(Date.now() + offset), policy: { session_seconds: 365 * 86_400 } });
    c = await v.client();
  });
  after(() => l.cleanup());

  /** A new account with `snapshots` live in its head; returns its token and a step-up function. */
  async function account(...snapshots: string[]): Promise<{ token: string; stepUp: () => Promise<string>; change: (r: RetentionRequest, grant?: boolean) => ReturnType<VaultClient['postRetention']> }> {
    const name = `ret${++n}`;
    const { token } = await c.register(name, 'pw', K, RECOVERY, 'd');
    if (snapshots.length) await c.postHead(token, { add_snapshots: snapshots });
    const stepUp = () => c.stepUp(token, name, 'pw');
    return { token, stepUp, change: async (r, grant = true) => c.postRetention(token, grant ? { ...r, step_up: await stepUp() } as RetentionRequest : r) };
  }

  const lock = (min: number, more: Partial<Extract<RetentionRequest, { op: 'lock' }>> = {}): RetentionRequest => ({ op: 'lock', mode: 'governance', min_days: min, changeable_for_days: 3, ...more });

  it('refuses the pending removal of a locked snapshot, audits it, and allows it once the vault has seen it for min_days', async () => {
    const [old, young] = [id(), id()];
    const a = await account(old);
    later(20);
    await c.postHead(a.token, { add_snapshots: [young] });
    const r = await a.change(lock(30));
    assert.deepEqual(Object.keys(r.seen).sort(), [old, young].sort());
    assert.equal(Date.parse(r.seen[young]!) - Date.parse(r.seen[old]!) >= 20 * DAY - 5_000, true, 'first sightings are the vault\'s clock');

    await assert.rejects(c.postHead(a.token, { remove_snapshots: [young, old], pending: true }), refused('retention', 'RETENTION'));
    await assert.rejects(c.postHead(a.token, { remove_snapshots: [old] }), refused('retention'), 'skipping the pending step does not help');
    const head = await c.head(a.token);
    assert.deepEqual([head.snapshots.length, head.pending_snapshots.length], [2, 0], 'a refused delta changes nothing');
    const audit = (await c.audit(a.token)) as { type: string; detail: Record<string, unknown> }[];
    const refusals = audit.filter((e) => e.type === 'retention.refuse');
    assert.equal(refusals.length, 2);
    assert.equal(refusals[0]!.detail.reason, 'retention lock');
    assert.ok(audit.some((e) => e.type === 'retention.lock'));

    later(11); // old: seen 31 days ago; young: 11 days
    await c.postHead(a.token, { remove_snapshots: [old], pending: true });
    await c.postHead(a.token, { remove_snapshots: [old] });
    await assert.rejects(c.postHead(a.token, { remove_snapshots: [young], pending: true }), refused('retention'));
  });

  it('every lock change and unlock needs a step-up; a frozen compliance lock cannot be removed or shortened by anyone', async () => {
    const a = await account(id());
    await assert.rejects(c.postRetention(a.token, lock(30)), refused('step_up_required'), 'a device token alone sets no lock');
    await a.change(lock(30));
    await assert.rejects(c.postRetention(a.token, lock(10)), refused('step_up_required'));
    await a.change(lock(10));
    await a.change(lock(20, { mode: 'compliance', changeable_for_days: 1 }));
    await a.change(lock(15, { mode: 'compliance', changeable_for_days: 1 }), true); // still in its window
    later(2);
    await assert.rejects(a.change({ op: 'unlock' }), refused('retention', 'RETENTION'));
    await assert.rejects(a.change(lock(10, { mode: 'compliance' })), refused('retention'));
    await assert.rejects(a.change(lock(15, { changeable_for_days: 0 })), refused('retention'), 'nor back to governance');
    const longer = await a.change(lock(40, { mode: 'compliance', max_days: 400 }));
    assert.deepEqual([longer.lock?.min_days, longer.lock?.max_days], [40, 400]);
    await assert.rejects(a.change(lock(40, { max_days: 10, mode: 'compliance' })), refused('bad_request'), 'max below min');
  });

  it('legal holds: only on a live snapshot; a held snapshot is not removed; releasing needs a step-up', async () => {
    const s = id();
    const a = await account(s);
    await assert.rejects(c.postRetention(a.token, { op: 'hold', snapshot: id(), reason: 'x' }), refused('not_found'));
    const held = await c.postRetention(a.token, { op: 'hold', snapshot: s, reason: 'case 7' });
    assert.deepEqual(held.holds.map((h) => [h.snapshot, h.reason]), [[s, 'case 7']]);
    later(100);
    await assert.rejects(c.postHead(a.token, { remove_snapshots: [s], pending: true }), refused('retention'));
    const refusal = ((await c.audit(a.token)) as { type: string; detail: Record<string, unknown> }[]).find((e) => e.type === 'retention.refuse');
    assert.equal(refusal?.detail.reason, 'legal hold');
    await assert.rejects(c.postRetention(a.token, { op: 'release', snapshot: s }), refused('step_up_required'));
    await a.change({ op: 'release', snapshot: s });
    await c.postHead(a.token, { remove_snapshots: [s], pending: true });
  });
});

describe('retention without a vault', () => {
  const body = (b: Record<string, unknown>) => () => readRetentionChange(b);
  const badRequest = (e: unknown) => e instanceof VaultRefusal && e.code === 'bad_request';

  it('the reader takes each op with its own fields and nothing else', () => {
    assert.deepEqual(readRetentionChange({ op: 'lock', mode: 'compliance', min_days: 1, max_days: 2, changeable_for_days: 0 }), { op: 'lock', mode: 'compliance', min_days: 1, max_days: 2, changeable_for_days: 0 });
    assert.deepEqual(readRetentionChange({ op: 'release', snapshot: 'a'.repeat(64), step_up: 'AAAA' }), { op: 'release', snapshot: 'a'.repeat(64), step_up: 'AAAA' });
    for (const b of [
      { op: 'delete' }, { op: 'lock', mode: 'x', min_days: 1, changeable_for_days: 3 }, { op: 'lock', mode: 'governance', min_days: 0, changeable_for_days: 3 },
      { op: 'lock', mode: 'governance', min_days: 1, changeable_for_days: -1 }, { op: 'lock', mode: 'governance', min_days: 1.5, changeable_for_days: 3 },
      { op: 'unlock', extra: 1 }, { op: 'hold', snapshot: 'abc', reason: 'r' }, { op: 'hold', snapshot: 'a'.repeat(64), reason: '' },
      { op: 'hold', snapshot: 'a'.repeat(64), reason: 'r', step_up: 'AAAA' },
    ]) assert.throws(body(b), badRequest, JSON.stringify(b));
  });

  it('a format 1 head becomes format 3 (head.test.ts: the write-only attribution) with every snapshot first seen at the migration', () => {
    const [s, p] = [id(), id()];
    const v1: HeadRecordV1 = { ...emptyHead(), format: 1, seq: 7, snapshots: [s], pending_snapshots: [p] };
    const at = '2026-03-01T00:00:00.000Z';
    const v2 = migrateHead(v1, at);
    assert.deepEqual([v2.format, v2.seq, v2.seen], [3, 7, { [s]: at, [p]: at }]);
    assert.equal(migrateHead(v2, '2030-01-01T00:00:00.000Z'), v2, 'the current format stays as it is');
  });
});
