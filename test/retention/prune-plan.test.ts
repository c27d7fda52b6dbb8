/**
 * Prune's pure parts: the plan (restic's decisions: unused packs deleted,
 * partly used ones repacked, the largest unused share first, while more
 * than --max-unused would remain and --max-repack-size allows; one kept
 * copy per needed blob; marked packs recovered when needed again; archived
 * and missing packs), the flags, phase 2's lock-age rule and its index.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { deletingIndex, LOCK_SKEW_S, markingIndex, ripeMarks } from '../../src/retention/prune-index.js';
import { parseMaxUnused, parseSize } from '../../src/retention/prune-options.js';
import { planPrune, pruneStats, unusedLimit, type MaxUnused, type PackEntry, type PlanPack, type StoredPack } from '../../src/retention/prune-plan.js';

const id = (s: string) => Buffer.from(s.padEnd(64, '0'), 'hex');
const hex = (s: string) => id(s).toString('hex');
/** A pack `p` (hex) with blobs named by one hex digit each, every blob 100 bytes. */
const pack = (p: string, blobs: string, markedAt?: number): PlanPack => ({
  pack: { id: id(p), blobs: [...blobs].map((b) => ({ id: id(b + b), length: 100 })) },
  indexed: true,
  ...(markedAt === undefined ? {} : { markedAt }),
});
const used = (blobs: string) => new Set([...blobs].map((b) => hex(b + b)));
const stored = (packs: PlanPack[], cls: Record<string, string> = {}) =>
  new Map(packs.map((p): [string, StoredPack] => {
    const k = p.pack.id.toString('hex');
    return [k, { size: 100 * p.pack.blobs.length + 40, ...(cls[k.slice(0, 2)] ? { storageClass: cls[k.slice(0, 2)]! } : {}) }];
  }));
const actions = (packs: PlanPack[], u: string, maxUnused: MaxUnused = { percent: 5 }, opts: { maxRepackBytes?: number; stored?: Map<string, StoredPack> } = {}) => {
  const plan = planPrune({ packs, stored: opts.stored ?? stored(packs), used: used(u), maxUnused, maxRepackBytes: opts.maxRepackBytes ?? Infinity });
  return Object.fromEntries(plan.decisions.map((d) => [d.id.slice(0, 2), d.action]));
};

describe('prune plan', () => {
  it('keeps used packs, marks unused ones, repacks partly used ones beyond 5%', () => {
    const packs = [pack('a1', 'abc'), pack('b1', 'de'), pack('c1', 'f')];
    assert.deepEqual(actions(packs, 'abcd'), { a1: 'keep', b1: 'repack', c1: 'mark' });
  });

  it('restic\'s threshold: p% means unused ≤ used·p/(100−p); sizes and unlimited', () => {
    assert.equal(unusedLimit({ percent: 5 }, 1900), 100);
    assert.equal(unusedLimit({ percent: 50 }, 300), 300);
    assert.equal(unusedLimit({ bytes: 7 }, 1e9), 7);
    assert.equal(unusedLimit('unlimited', 1), Infinity);
    const p = [pack('a1', '0123456789'), pack('b1', 'abcdef0123')];
    // b1 shares 0-3 with a1 (duplicates count unused in the later pack) and has a-f: 6 used, 4 unused
    assert.deepEqual(actions(p, '0123456789abcdef'), { a1: 'keep', b1: 'repack' });
    assert.deepEqual(actions(p, '0123456789abcdef', { percent: 50 }), { a1: 'keep', b1: 'keep' });
    assert.deepEqual(actions(p, '0123456789abcdef', 'unlimited'), { a1: 'keep', b1: 'keep' });
    assert.deepEqual(actions(p, '0123456789abcdef', { bytes: 400 }), { a1: 'keep', b1: 'keep' });
    assert.deepEqual(actions(p, '0123456789abcdef', { bytes: 399 }), { a1: 'keep', b1: 'repack' });
  });

  it('keeps pinned packs whole (a protected snapshot\'s, as the vault recorded them): never marked nor repacked, duplicates too', () => {
    const packs = [pack('a1', 'ab'), pack('b1', 'bc'), pack('c1', 'd'), pack('d1', 'e')];
    const pinned = new Set([hex('b1'), hex('c1')]);
    const plan = planPrune({ packs, stored: stored(packs), used: used('a'), maxUnused: { bytes: 0 }, maxRepackBytes: Infinity, pinned: (p) => pinned.has(p) });
    assert.deepEqual(Object.fromEntries(plan.decisions.map((d) => [d.id.slice(0, 2), d.action])), { a1: 'repack', b1: 'keep', c1: 'keep', d1: 'mark' });
  });

  it('repacks the largest unused share first, and stops at --max-repack-size', () => {
    const packs = [pack('a1', 'ab'), pack('b1', 'cdef'), pack('c1', '6789')];
    // a1: 1 of 2 unused (50%), b1: 3 of 4 (75%), c1: 1 of 4 (25%)
    assert.deepEqual(actions(packs, 'ac678', { bytes: 250 }), { a1: 'keep', b1: 'repack', c1: 'keep' });
    assert.deepEqual(actions(packs, 'ac678', { bytes: 0 }), { a1: 'repack', b1: 'repack', c1: 'repack' });
    assert.deepEqual(actions(packs, 'ac678', { bytes: 0 }, { maxRepackBytes: 600 }), { a1: 'repack', b1: 'repack', c1: 'keep' });
  });

  it('one kept copy per needed blob; the copies to make are exactly the keepers of repacked packs', () => {
    const packs = [pack('a1', 'abcd'), pack('b1', 'ab89')];
    const plan = planPrune({ packs, stored: stored(packs), used: used('abc8'), maxUnused: { bytes: 0 }, maxRepackBytes: Infinity });
    assert.deepEqual(plan.decisions.map((d) => [d.action, d.usedBlobs, d.unusedBlobs]), [['repack', 3, 1], ['repack', 1, 3]]);
    assert.deepEqual([...plan.copy.get(hex('b1'))!], [hex('88')]);
    assert.deepEqual([...plan.copy.get(hex('a1'))!].sort(), [hex('aa'), hex('bb'), hex('cc')]);
  });

  it('a marked pack stays marked while unneeded and is recovered when a snapshot needs it; live copies are preferred', () => {
    const packs = [pack('a1', 'ab', 1000), pack('b1', 'cd', 1000), pack('c1', 'c')];
    assert.deepEqual(actions(packs, 'abc'), { a1: 'recover', b1: 'marked', c1: 'keep' });
  });

  it('archived packs are left alone and keep their blobs; missing packs are dropped, a missing needed blob is reported', () => {
    const packs = [pack('a1', 'ab'), pack('b1', 'cd'), pack('c1', 'ef'), pack('d1', 'a')];
    const s = stored(packs, { a1: 'GLACIER', b1: 'DEEP_ARCHIVE', c1: 'STANDARD_IA' });
    assert.deepEqual(actions(packs, 'a', { percent: 5 }, { stored: s }), { a1: 'archived', b1: 'archived', c1: 'mark', d1: 'mark' });
    s.delete(hex('c1'));
    s.delete(hex('a1'));
    const plan = planPrune({ packs, stored: s, used: used('ae'), maxUnused: { percent: 5 }, maxRepackBytes: Infinity });
    assert.deepEqual(plan.decisions.map((d) => d.action), ['drop', 'archived', 'drop', 'keep']);
    assert.deepEqual(plan.missing, [hex('ee')]);
  });

  it('minimum storage durations: a pack younger than its class\'s minimum is held, not deleted or repacked, unless earlyDelete; a cold pack is never repacked, deleted only unused and past its minimum', () => {
    const DAY = 86_400_000;
    const now = 1000 * DAY;
    const packs = [pack('a1', '01'), pack('b1', '23'), pack('c1', '45'), pack('d1', '67'), pack('e1', '89'), pack('f1', 'ab')];
    const age: Record<string, [string, number]> = {
      a1: ['STANDARD_IA', 10], // unused, 10 of 30 days
      b1: ['STANDARD_IA', 31], // unused, past 30 days
      c1: ['GLACIER_IR', 10], // half used: a repack candidate
      d1: ['DEEP_ARCHIVE', 179], // unused, 1 day short of 180
      e1: ['DEEP_ARCHIVE', 181], // unused, past 180
      f1: ['GLACIER', 400], // half used: never repacked
    };
    const s = new Map(packs.map((p): [string, StoredPack] => {
      const k = p.pack.id.toString('hex');
      const [storageClass, days] = age[k.slice(0, 2)]!;
      return [k, { size: 240, storageClass, modified: now - days * DAY }];
    }));
    const run = (earlyDelete: boolean) => {
      const plan = planPrune({ packs, stored: s, used: used('4a'), maxUnused: { bytes: 0 }, maxRepackBytes: Infinity, now, earlyDelete });
      return { actions: Object.fromEntries(plan.decisions.map((d) => [d.id.slice(0, 2), d.action])), plan };
    };
    const held = run(false);
    assert.deepEqual(held.actions, { a1: 'held', b1: 'mark', c1: 'held', d1: 'held', e1: 'mark', f1: 'archived' });
    const a1 = held.plan.decisions.find((d) => d.id.startsWith('a1'))!;
    assert.deepEqual(a1.held, { storageClass: 'STANDARD_IA', until: now + 20 * DAY });
    // A held pack stays live in the new index, as a kept one does.
    const file = markingIndex(held.plan, [], 1);
    assert.deepEqual(file.marked.map((m) => m.id.toString('hex').slice(0, 2)).sort(), ['b1', 'e1']);
    assert.equal(file.packs.length, 4);
    assert.deepEqual(run(true).actions, { a1: 'mark', b1: 'mark', c1: 'repack', d1: 'mark', e1: 'mark', f1: 'archived' });
    // --repack-archived: the half used GLACIER pack past its 90 days is repacked like any other, and named as archived.
    const told = planPrune({ packs, stored: s, used: used('4a'), maxUnused: { bytes: 0 }, maxRepackBytes: Infinity, now, repackArchived: true });
    const f1 = told.decisions.find((d) => d.id.startsWith('f1'))!;
    assert.deepEqual([f1.action, f1.archived], ['repack', 'GLACIER']);
  });

  it('the summary counts what restic\'s does', () => {
    const packs = [pack('a1', 'abc'), pack('b1', 'de'), pack('c1', 'f')];
    const s = pruneStats(planPrune({ packs, stored: stored(packs), used: used('abcd'), maxUnused: { percent: 5 }, maxRepackBytes: Infinity }));
    assert.deepEqual(s.packs, { used: 1, partlyUsed: 1, unused: 1, keep: 1, repack: 1, delete: 1, archived: 0 });
    assert.deepEqual([s.toRepack, s.repackRemoves, s.toDelete, s.remaining], [{ blobs: 1, bytes: 100 }, { blobs: 1, bytes: 100 }, { blobs: 1, bytes: 140 }, { blobs: 4, bytes: 400 }]);
    assert.equal(s.freed, 140 + 240 - 100);
  });
});

describe('prune flags', () => {
  it('sizes with k/m/g/t (1024s), percentages below 100, unlimited; anything else is USAGE', () => {
    assert.equal(parseSize('0', 'f'), 0);
    assert.equal(parseSize('10k', 'f'), 10240);
    assert.equal(parseSize('2G', 'f'), 2 * 1024 ** 3);
    assert.deepEqual(parseMaxUnused('5%'), { percent: 5 });
    assert.deepEqual(parseMaxUnused('2.5%'), { percent: 2.5 });
    assert.deepEqual(parseMaxUnused('100m'), { bytes: 100 * 1024 ** 2 });
    assert.equal(parseMaxUnused('unlimited'), 'unlimited');
    for (const bad of ['abc', '', '5 %', '100%', '-1', '1.5k', '5x', '%'])
      assert.throws(() => parseMaxUnused(bad), (e) => isEbakError(e, 'USAGE'), bad);
    assert.throws(() => parseSize('1e3', '--max-repack-size'), (e) => isEbakError(e, 'USAGE'));
  });
});

describe('two phases', () => {
  const packs = [pack('a1', 'ab'), pack('b1', 'cd'), pack('c1', 'e', 50)];
  const plan = planPrune({ packs, stored: stored(packs), used: used('ab'), maxUnused: { percent: 5 }, maxRepackBytes: Infinity });

  it('phase 1 lists the live packs, marks the others (old marks keep their time), supersedes what was read', () => {
    const f = markingIndex(plan, [hex('ff')], 1000);
    assert.deepEqual(f.packs.map((p: PackEntry) => p.id.toString('hex')), [hex('a1')]);
    assert.deepEqual(f.marked.map((m) => [m.id.toString('hex'), m.markedAt]), [[hex('b1'), 1000], [hex('c1'), 50]]);
    assert.deepEqual(f.superseded, [id('ff')]);
  });

  it('a mark is ripe only when every other live lock started more than the skew after it', () => {
    const marks = [{ markedAt: 1000 }, { markedAt: 2000 }];
    assert.deepEqual(ripeMarks(marks, []), marks);
    assert.deepEqual(ripeMarks(marks, [1000 + LOCK_SKEW_S + 1]), [marks[0]]);
    assert.deepEqual(ripeMarks(marks, [1000 + LOCK_SKEW_S]), []);
    assert.deepEqual(ripeMarks(marks, [1e9, 999]), []);
    assert.deepEqual(ripeMarks(marks, [-Infinity]), []); // a lock that does not say when it started
  });

  it('phase 2 drops the ripe marks, recovers those a new snapshot needs, and supersedes phase 1\'s file', () => {
    const f = markingIndex(plan, [], 1000);
    const r = deletingIndex(f, hex('ee'), f.marked, used('d'));
    assert.deepEqual(r.doomed, [hex('c1')]);
    assert.equal(r.recovered, 1);
    assert.deepEqual(r.file.packs.map((p) => p.id.toString('hex')), [hex('a1'), hex('b1')]);
    assert.deepEqual(r.file.marked, []);
    assert.deepEqual(r.file.superseded, [id('ee')]);
  });
});
