/**
 * The in-memory index (src/repository/masterindex.ts): every location comes
 * back as added, across merges of the tail into the sorted run; the first
 * location of a blob wins, its other copies kept for readers to fall back on;
 * and the structure's own byteLength stays at or
 * under 48 bytes per blob from 1,000,000 blobs on, measured at every pack
 * across several tail merges (not one lucky point), with packs of 250 blobs.
 * A bulk load from index files' bytes (addEncodedPacks) answers as the
 * packs added one by one.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { encodeIndex, decodeIndexEncoded } from '../../src/repository/format/indexfile.js';
import type { BlobEntry } from '../../src/repository/format/pack.js';
import { MasterIndex, type EncodedPackEntries, type PackInfo } from '../../src/repository/masterindex.js';

/** Deterministic ids: the SHA-256 of the counter (uniform, as HMAC ids are). */
function id(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n);
  return createHash('sha256').update(b).digest();
}

function pack(n: number): PackInfo {
  return { id: id(1e9 + n).toString('hex'), salt: id(2e9 + n), kind: n % 2, keySource: 0 };
}

function blobs(first: number, count: number): BlobEntry[] {
  return Array.from({ length: count }, (_, k) => {
    const n = first + k;
    return { type: n % 2, flags: (n >> 1) & 1, id: id(n), offset: n * 7, length: (n * 13) % 1_000_000 + 1, rawLength: n * 3 + 2 ** 31 };
  });
}

describe('MasterIndex', () => {
  it('returns every location as added, through merges, and nothing for an unknown id', () => {
    const ix = new MasterIndex();
    const PER = 97;
    for (let p = 0; p < 400; p++) ix.addPack(pack(p), blobs(p * PER, PER));
    assert.equal(ix.size, 400 * PER);
    for (const n of [0, 1, 96, 97, 5000, 20_000, 400 * PER - 1]) {
      const loc = ix.lookup(id(n))!;
      const want = blobs(n, 1)[0]!;
      assert.deepEqual({ type: loc.type, flags: loc.flags, offset: loc.offset, length: loc.length, rawLength: loc.rawLength }, { type: want.type, flags: want.flags, offset: want.offset, length: want.length, rawLength: want.rawLength });
      assert.deepEqual(loc.pack, pack(Math.floor(n / PER)));
    }
    assert.equal(ix.lookup(id(400 * PER)), undefined);
    assert.equal(ix.has(id(400 * PER + 1)), false);
    const seen = [...ix.entries()];
    assert.equal(seen.length, ix.size);
    assert.equal(new Set(seen.map((e) => e.id.toString('hex'))).size, ix.size);
    assert.equal(ix.packs.length, 400);
    assert.ok(ix.hasPack(pack(399).id) && !ix.hasPack(pack(400).id));
  });

  it('keeps a blob\'s first location, ignores a pack added twice, and refuses type or flags outside version 1', () => {
    const ix = new MasterIndex();
    ix.addPack(pack(0), blobs(0, 10));
    ix.addPack(pack(1), [...blobs(5, 10), ...blobs(5, 1)]);
    ix.addPack(pack(0), blobs(100, 10));
    assert.equal(ix.size, 15);
    assert.equal(ix.lookup(id(7))!.pack.id, pack(0).id);
    assert.equal(ix.lookup(id(12))!.pack.id, pack(1).id);
    assert.throws(() => ix.addPack(pack(2), [{ ...blobs(50, 1)[0]!, flags: 2 }]), { code: 'CORRUPT' });
    assert.equal(ix.hasPack(pack(2).id), false);
  });

  it('keeps the other locations of a blob stored more than once, in the order added, across merges', () => {
    const ix = new MasterIndex();
    for (let p = 0; p < 4; p++) ix.addPack(pack(p), blobs(0, 3000)); // four copies of each, past a tail merge (8,192 blobs)
    for (let p = 4; p < 8; p++) ix.addPack(pack(p), blobs(p * 3000, 3000));
    assert.equal(ix.size, 5 * 3000);
    for (const n of [0, 1234, 2999]) {
      assert.equal(ix.lookup(id(n))!.pack.id, pack(0).id);
      assert.deepEqual(ix.copies(id(n)).map((c) => [c.pack.id, c.offset]), [1, 2, 3].map((p) => [pack(p).id, n * 7]));
    }
    assert.deepEqual(ix.copies(id(4 * 3000)), [], 'a blob stored once has no copies');
    ix.clear();
    assert.deepEqual(ix.copies(id(0)), []);
  });

  it('holds at most 48 bytes per blob from 1,000,000 blobs on, across several merges', () => {
    const ix = new MasterIndex();
    const PER = 250;
    let worst = 0;
    let p = 0;
    for (; p * PER < 1_000_000; p++) ix.addPack(pack(p), blobs(p * PER, PER));
    // The runs are sized exactly: what varies is the tail, merged every 8,192 blobs; measure past four merges.
    for (; p * PER < 1_035_000; p++) {
      ix.addPack(pack(p), blobs(p * PER, PER));
      worst = Math.max(worst, ix.byteLength / ix.size);
    }
    assert.equal(ix.size, p * PER);
    assert.ok(worst <= 48, `${worst.toFixed(2)} bytes per blob`);
    assert.ok(worst > 46, `${worst.toFixed(2)}: the measure counts the 46-byte entries`);
    assert.ok(ix.has(id(123_456)) && ix.has(id(p * PER - 1)));
  });

  it('a bulk load from entries\' bytes answers as packs added one by one: first location, copies in order, marks, a pack listed twice', () => {
    // 30 packs of 700 blobs from a range of 15,000 (repeats within and across packs), pack 7 listed twice, packs 3 and 11 marked
    const spec = Array.from({ length: 31 }, (_, k) => ({ p: k === 30 ? 7 : k, marked: k === 3 || k === 11, first: (k * 487) % 14_300 }));
    // and 100 blobs whose ids share their first two bytes (one bucket: sorted by comparison, not insertion), in packs 0 and 1
    const bucket = (k: number) => blobs(20_000 + k * 50, 50).map((b) => ({ ...b, id: Buffer.concat([Buffer.alloc(2), b.id.subarray(2)]) }));
    const listed = spec.map(({ p, marked, first }) => ({ info: pack(p), marked, blobs: [...blobs(first, 700), ...(p % 5 === 0 ? blobs(first, 3) : []), ...(p < 2 ? bucket(p) : bucket(0).slice(0, p === 2 ? 10 : 0))] }));
    const one = new MasterIndex();
    for (const l of listed) if (l.marked) one.addPack(l.info, l.blobs, true); else one.addPack(l.info, l.blobs);
    const bulk = new MasterIndex();
    bulk.addEncodedPacks(listed.map((l): EncodedPackEntries => ({ pack: l.info, marked: l.marked, entries: encodedEntries(l.info, l.blobs) })));
    assert.equal(bulk.size, one.size);
    assert.equal(bulk.packs.length, 30);
    const where = (ix: MasterIndex, n: number) => ({ has: ix.has(id(n)), at: ix.lookup(id(n)), copies: ix.copies(id(n)) });
    for (let n = 0; n < 15_100; n++) assert.deepEqual(where(bulk, n), where(one, n), `blob ${n}`);
    for (const b of [...bucket(0), ...bucket(1)]) assert.deepEqual([bulk.lookup(b.id)?.offset, bulk.copies(b.id)], [b.offset, one.copies(b.id)]);
    assert.equal(bulk.copies(bucket(0)[3]!.id).length, 1);
    assert.ok(bulk.isMarked(pack(3).id) && !bulk.isMarked(pack(4).id));
  });
});

/** The pack's entries as an index file holds them (encoded, then decoded as bytes). */
function encodedEntries(info: PackInfo, list: BlobEntry[]): Buffer {
  const file = encodeIndex({ packs: [{ id: Buffer.from(info.id, 'hex'), salt: info.salt, kind: info.kind, keySource: info.keySource, blobs: list }], superseded: [] });
  return decodeIndexEncoded(file, 'test').packs[0]!.entries;
}
