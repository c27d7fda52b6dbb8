/**
 * The repository head's logic without a vault: the set rules of a delta
 * (server/head.ts), the strict reader of POST /v1/head and its digest
 * (protocol.ts), chunking and the storage comparison (client/head.ts);
 * what write-only devices add: unconfirmed until a full device adds it
 * again, bounded per device, forgotten at revocation, and missing from
 * storage no rollback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { chunks, compareHead } from '../../src/vault/client/head.js';
import { MAX_HEAD_NAMES, MAX_PACKED_SNAPSHOTS, VaultRefusal, headDigest, readHeadDelta } from '../../src/vault/protocol.js';
import { MAX_TOMBSTONES, MAX_UNCONFIRMED, applyDelta, forgetUnconfirmed } from '../../src/vault/server/head.js';
import { emptyHead, type HeadRecord } from '../../src/vault/server/headrecord.js';

const name = () => randomBytes(32).toString('hex');
const badRequest = (e: unknown) => e instanceof VaultRefusal && e.code === 'bad_request';

function apply(h: HeadRecord, delta: Parameters<typeof applyDelta>[1], writer?: string): HeadRecord {
  const { next } = applyDelta(h, delta, undefined, writer);
  assert.ok(next, 'the delta changes the head');
  return next;
}

describe('head set logic', () => {
  it('adds, then removes in two steps: live → pending → removed, each step one seq', () => {
    const [s, i] = [name(), name()];
    let h = apply(emptyHead(), { add_snapshots: [s], add_indexes: [i] });
    assert.deepEqual([h.seq, h.snapshots, h.indexes], [1, [s], [i]]);
    h = apply(h, { remove_snapshots: [s], pending: true });
    assert.deepEqual([h.seq, h.snapshots, h.pending_snapshots, h.removed_snapshots], [2, [], [s], []]);
    h = apply(h, { remove_snapshots: [s] });
    assert.deepEqual([h.seq, h.pending_snapshots, h.removed_snapshots, h.indexes], [3, [], [s], [i]]);
  });

  it('a removed name never comes back, and repeating a delta changes nothing (no new seq)', () => {
    const s = name();
    let h = apply(emptyHead(), { add_snapshots: [s] });
    h = apply(h, { remove_snapshots: [s] });
    const again = applyDelta(h, { add_snapshots: [s] });
    assert.equal(again.next, undefined);
    assert.equal(again.counts.ignored, 1);
    assert.equal(applyDelta(h, { remove_snapshots: [s] }).next, undefined);
    assert.equal(applyDelta(h, { remove_snapshots: [s], pending: true }).next, undefined, 'a tombstone does not go back to pending');
    assert.equal(applyDelta(apply(emptyHead(), { add_indexes: [s] }), { add_indexes: [s] }).next, undefined);
  });

  it('a name the head never knew can be removed (tombstoned), so its replay is caught', () => {
    const s = name();
    const h = apply(emptyHead(), { remove_indexes: [s] });
    assert.deepEqual(h.removed_indexes, [s]);
  });

  it('keeps the newest tombstones only', () => {
    const names = Array.from({ length: MAX_TOMBSTONES + 5 }, name);
    const h = apply(emptyHead(), { remove_indexes: names });
    assert.equal(h.removed_indexes.length, MAX_TOMBSTONES);
    assert.deepEqual(h.removed_indexes.slice(-3), names.slice(-3));
    assert.ok(!h.removed_indexes.includes(names[0]!));
  });

  it('the digest names the head: any change of seq or a set changes it', () => {
    const h = apply(emptyHead(), { add_snapshots: [name()] });
    const d = headDigest('acct', h);
    assert.match(d, /^[0-9a-f]{64}$/);
    assert.notEqual(headDigest('acct', { ...h, seq: h.seq + 1 }), d);
    assert.notEqual(headDigest('other', h), d);
    assert.notEqual(headDigest('acct', { ...h, indexes: [name()] }), d);
    assert.equal(headDigest('acct', { ...h, snapshots: [...h.snapshots].reverse() }), d, 'sets, not lists');
  });
});

describe('POST /v1/head reader', () => {
  it('accepts a delta of names, with pending for removals only', () => {
    const s = name();
    assert.deepEqual(readHeadDelta({ add_snapshots: [s] }), { add_snapshots: [s] });
    assert.deepEqual(readHeadDelta({ remove_indexes: [s], pending: true }), { remove_indexes: [s], pending: true });
  });

  it('refuses unknown fields, bad names, duplicates, empty deltas, pending additions and oversized lists', () => {
    const s = name();
    for (const body of [
      { add_snapshots: [s], extra: 1 }, { add_snapshots: [s.toUpperCase()] }, { add_snapshots: [s.slice(1)] }, { add_snapshots: s },
      { add_snapshots: [s, s] }, {}, { add_snapshots: [] }, { add_snapshots: [s], pending: true }, { remove_snapshots: [s], pending: 'yes' },
      { add_indexes: [1] }, { remove_indexes: Array.from({ length: MAX_HEAD_NAMES + 1 }, name) },
      { add_indexes: Array.from({ length: MAX_HEAD_NAMES / 2 + 1 }, name), remove_indexes: Array.from({ length: MAX_HEAD_NAMES / 2 }, name) },
    ]) assert.throws(() => readHeadDelta(body as Record<string, unknown>), badRequest, JSON.stringify(body).slice(0, 80));
  });

  it('the client splits a large delta into deltas the reader accepts', () => {
    const delta = { remove_indexes: Array.from({ length: MAX_HEAD_NAMES + 7 }, name), remove_snapshots: [name()], pending: true };
    const parts = chunks(delta);
    assert.equal(parts.length, 2);
    for (const p of parts) assert.deepEqual(readHeadDelta(JSON.parse(JSON.stringify(p)) as Record<string, unknown>), p);
    assert.deepEqual(parts.flatMap((p) => p.remove_indexes ?? []), delta.remove_indexes);
    assert.deepEqual(chunks({}), []);
  });

  it('the client splits a delta\'s packs with their snapshots: at most 10,000 pack names and 64 packed snapshots per delta', () => {
    const big = [name(), name()];
    const small = Array.from({ length: MAX_PACKED_SNAPSHOTS + 1 }, name);
    const packs: Record<string, string[]> = {};
    for (const s of big) packs[s] = Array.from({ length: MAX_HEAD_NAMES - 1 }, name);
    for (const s of small) packs[s] = [name()];
    const delta = { add_snapshots: [...big, ...small, name()], add_indexes: [name()], packs };
    const parts = chunks(delta);
    // The second big one shares its delta with the first small one (10,000 pack names); the other 64 small ones fill the third.
    assert.deepEqual(parts.map((p) => Object.keys(p.packs ?? {}).length), [1, 2, MAX_PACKED_SNAPSHOTS]);
    for (const p of parts) {
      assert.deepEqual(readHeadDelta(JSON.parse(JSON.stringify(p)) as Record<string, unknown>), p);
      for (const s of Object.keys(p.packs ?? {})) assert.ok(p.add_snapshots!.includes(s));
    }
    assert.deepEqual(parts.flatMap((p) => p.add_snapshots ?? []), delta.add_snapshots);
    assert.deepEqual(Object.assign({}, ...parts.map((p) => p.packs ?? {})), packs);
  });
});

describe('storage against the head', () => {
  const [s1, s2, i1, i2, gone] = [name(), name(), name(), name(), name()];
  let head = apply(emptyHead(), { add_snapshots: [s1, s2], add_indexes: [i1, i2] });
  head = apply(head, { remove_indexes: [gone] });

  it('names what is missing, what was put back and what the head does not know', () => {
    const extra = name();
    const c = compareHead(head, { snapshots: [s1, extra], indexes: [i1, i2, gone] });
    assert.deepEqual(c.missing, [{ kind: 'snapshot', name: s2 }]);
    assert.deepEqual(c.replayed, [{ kind: 'index', name: gone }]);
    assert.deepEqual(c.unknown, [{ kind: 'snapshot', name: extra }]);
  });

  it('a removal under way between the two heads is no alarm; pending names are none either way', () => {
    const during = apply(head, { remove_snapshots: [s2], pending: true });
    assert.deepEqual(compareHead(head, { snapshots: [s1], indexes: [i1, i2] }, during).missing, []);
    const c = compareHead(during, { snapshots: [s1, s2], indexes: [i1, i2] });
    assert.deepEqual([c.missing, c.replayed, c.unknown], [[], [], []]);
  });

  it('an addition posted between the two heads is no alarm', () => {
    const s3 = name();
    const later = apply(head, { add_snapshots: [s3] });
    const c = compareHead(head, { snapshots: [s1, s2], indexes: [i1, i2] }, later);
    assert.deepEqual([c.missing, c.replayed], [[], []]);
  });
});

describe('what write-only devices add', () => {
  const WO = 'a'.repeat(32);
  const forbidden = (e: unknown) => e instanceof VaultRefusal && e.code === 'forbidden';

  it('is live and unconfirmed until a full device adds it again (a new seq); the device itself re-adding is ignored', () => {
    const [s, i] = [name(), name()];
    const h = applyDelta(emptyHead(), { add_snapshots: [s], add_indexes: [i] }, undefined, WO).next!;
    assert.deepEqual([h.format, h.snapshots, h.unconfirmed_snapshots, h.unconfirmed_indexes], [3, [s], { [s]: WO }, { [i]: WO }]);
    assert.equal(applyDelta(h, { add_snapshots: [s] }, undefined, WO).next, undefined);
    const { next, counts } = applyDelta(h, { add_snapshots: [s] });
    assert.deepEqual([next!.seq, next!.unconfirmed_snapshots, next!.unconfirmed_indexes, counts.confirmed], [h.seq + 1, {}, { [i]: WO }, 1]);
    assert.equal(applyDelta(next!, { add_snapshots: [s] }).next, undefined, 'confirmed once');
    assert.deepEqual(apply(h, { remove_indexes: [i], pending: true }).unconfirmed_indexes, {}, 'a removal ends it');
  });

  it(`holds at most ${MAX_UNCONFIRMED} unconfirmed names per device; confirmed ones and other devices' do not count`, () => {
    const many = Array.from({ length: MAX_UNCONFIRMED }, name);
    const h = apply(emptyHead(), { add_snapshots: many.slice(0, 100), add_indexes: many.slice(100) }, WO);
    assert.throws(() => applyDelta(h, { add_snapshots: [name()] }, undefined, WO), forbidden);
    assert.ok(applyDelta(h, { add_snapshots: [name()] }, undefined, 'b'.repeat(32)).next);
    const confirmed = apply(h, { add_snapshots: [many[0]!] });
    assert.ok(applyDelta(confirmed, { add_snapshots: [name()] }, undefined, WO).next);
  });

  it('revoking the device forgets its unconfirmed names with no tombstone; confirmed and other names stay', () => {
    const [mine, kept, other, full] = [name(), name(), name(), name()];
    let h = apply(emptyHead(), { add_snapshots: [mine, kept] }, WO);
    h = apply(h, { add_snapshots: [other] }, 'b'.repeat(32));
    h = apply(h, { add_snapshots: [kept, full] });
    const r = forgetUnconfirmed(h, WO)!;
    assert.equal(r.forgotten, 1);
    assert.deepEqual([r.next.snapshots, r.next.removed_snapshots, r.next.unconfirmed_snapshots, mine in r.next.seen], [[kept, full, other].sort(), [], { [other]: 'b'.repeat(32) }, false]);
    assert.equal(forgetUnconfirmed(r.next, WO), undefined);
    assert.deepEqual(compareHead(r.next, { snapshots: [mine, kept, other, full], indexes: [] }).unknown, [{ kind: 'snapshot', name: mine }], 'back in storage, it is only unknown');
  });

  it('missing from storage, an unconfirmed name is no rollback but names its device; present, it is to be confirmed', () => {
    const [fake, real, s] = [name(), name(), name()];
    let h = apply(emptyHead(), { add_snapshots: [s] });
    h = apply(h, { add_snapshots: [fake, real] }, WO);
    const c = compareHead(h, { snapshots: [s, real], indexes: [] });
    assert.deepEqual([c.missing, c.unconfirmedMissing, c.unconfirmedPresent], [[], [{ kind: 'snapshot', name: fake, device: WO }], [{ kind: 'snapshot', name: real }]]);
    const confirmedMeanwhile = apply(h, { add_snapshots: [fake] });
    assert.deepEqual(compareHead(h, { snapshots: [s, real], indexes: [] }, confirmedMeanwhile).missing, [], 'confirmed between the two heads: still the first head says whose');
    assert.deepEqual(compareHead(confirmedMeanwhile, { snapshots: [s, real], indexes: [] }).missing, [{ kind: 'snapshot', name: fake }], 'once confirmed, missing is a rollback');
    assert.deepEqual(compareHead(h, { snapshots: [s, real], indexes: [] }, h, WO).missing, [{ kind: 'snapshot', name: fake }], 'to the device that posted it, missing is a rollback');
    assert.deepEqual(compareHead(h, { snapshots: [s, real], indexes: [] }, h, 'b'.repeat(32)).missing, [], 'to another write-only device, not');
  });
});
