/**
 * The repository head's logic without a vault: the set rules of a delta
 * (server/head.ts), the strict reader of POST /v1/head and its digest
 * (protocol.ts), chunking and the storage comparison (client/head.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { chunks, compareHead } from '../../src/vault/client/head.js';
import { MAX_HEAD_NAMES, VaultRefusal, headDigest, readHeadDelta } from '../../src/vault/protocol.js';
import { MAX_TOMBSTONES, applyDelta } from '../../src/vault/server/head.js';
import { emptyHead, type HeadRecord } from '../../src/vault/server/headrecord.js';

const name = () => randomBytes(32).toString('hex');
const badRequest = (e: unknown) => e instanceof VaultRefusal && e.code === 'bad_request';

function apply(h: HeadRecord, delta: Parameters<typeof applyDelta>[1]): HeadRecord {
  const { next } = applyDelta(h, delta);
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
