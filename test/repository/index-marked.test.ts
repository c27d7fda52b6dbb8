/**
 * Index payload version 3 (packs pending deletion; docs/format.md, "Index"
 * and "Deleting data"): the vectors of index-marked.json decode to their
 * JSON (also with a small reader written from the page alone), re-encode
 * to the same bytes, and the invalid ones fail with their named class (by
 * both decoders: decodeIndexEncoded's packs keep their entries as bytes);
 * writers keep writing version 1 when nothing is marked. The in-memory
 * index: a marked pack's blobs stay readable but are no copy to
 * deduplicate against, whatever order the index files load in.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeIndex, decodeIndexEncoded, encodeIndex, type IndexFile } from '../../src/repository/format/indexfile.js';
import { MasterIndex } from '../../src/repository/masterindex.js';
import { loadVectors, outcomeSync } from './vector-kit.js';

interface Vectors {
  valid: { name: string; payload: string; decoded: unknown }[];
  invalid: { name: string; payload: string; expect: string }[];
}

const v = loadVectors<Vectors>('index-marked.json');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const packJson = (p: IndexFile['packs'][number]) => ({ id: hex(p.id), salt: hex(p.salt), kind: p.kind, keySource: p.keySource, blobs: p.blobs.map((b) => ({ ...b, id: hex(b.id) })) });
const toJson = (f: IndexFile) => ({ packs: f.packs.map(packJson), superseded: f.superseded.map(hex), marked: (f.marked ?? []).map((m) => ({ markedAt: m.markedAt, ...packJson(m) })) });

/** Read from docs/format.md alone: version 3 = version 1's layout, then markedCount u32, then (markedAt u32, pack) each. */
function independentRead(b: Buffer): unknown {
  let o = 1;
  const u32 = () => ((o += 4), b.readUInt32LE(o - 4));
  const take = (n: number) => ((o += n), b.subarray(o - n, o).toString('hex'));
  const pack = () => {
    const p = { id: take(32), salt: take(32), kind: b[o++]!, keySource: b[o++]!, blobs: [] as unknown[] };
    for (let n = u32(); n > 0; n--) p.blobs.push({ type: b[o++]!, flags: b[o++]!, id: take(32), offset: u32(), length: u32(), rawLength: u32() });
    return p;
  };
  assert.equal(b[0], 3);
  const packs = Array.from({ length: u32() }, pack);
  const superseded = Array.from({ length: u32() }, () => take(32));
  const marked = Array.from({ length: u32() }, () => ({ markedAt: u32(), ...pack() }));
  assert.equal(o, b.length);
  return { packs, superseded, marked };
}

describe('index payload version 3', () => {
  it('valid vectors decode to their JSON, by this reader and an independent one, and re-encode to the same bytes', () => {
    assert.equal(v.valid.length, 2);
    for (const c of v.valid) for (const decode of [decodeIndex, decodeIndexEncoded]) {
      const bytes = Buffer.from(c.payload, 'hex');
      const f = decode(bytes, c.name);
      assert.deepEqual(toJson(f), c.decoded, c.name);
      assert.deepEqual(independentRead(bytes), c.decoded, c.name);
      if (f.marked!.length) assert.equal(encodeIndex(f).toString('hex'), c.payload, c.name);
    }
    // Nothing marked: writers write version 1 (backups' index files are unchanged by this version).
    assert.equal(encodeIndex(decodeIndex(Buffer.from(v.valid[1]!.payload, 'hex'), 'x'))[0], 1);
  });

  it('invalid vectors fail with their named class', () => {
    assert.equal(v.invalid.length, 9);
    for (const c of v.invalid)
      for (const decode of [decodeIndex, decodeIndexEncoded]) assert.equal(outcomeSync(() => decode(Buffer.from(c.payload, 'hex'), c.name)), c.expect, c.name);
  });
});

describe('marked packs in the in-memory index', () => {
  const f = decodeIndex(Buffer.from(v.valid[0]!.payload, 'hex'), 'x');
  const info = (p: IndexFile['packs'][number]) => ({ id: hex(p.id), salt: p.salt, kind: p.kind, keySource: p.keySource });
  const live = f.packs[0]!;
  const marked = f.marked![0]!;

  it('a blob only in a marked pack is readable but not a copy to deduplicate against', () => {
    const idx = new MasterIndex();
    idx.addPack(info(marked), marked.blobs, true);
    assert.equal(idx.has(marked.blobs[0]!.id), false);
    assert.equal(idx.lookup(marked.blobs[0]!.id)?.pack.id, hex(marked.id));
    assert.ok(idx.isMarked(hex(marked.id)));
  });

  it('a live copy wins over a marked one, and a mark wins over a live listing, in either order', () => {
    const copy = { ...live, id: Buffer.alloc(32, 0xdd), blobs: marked.blobs };
    for (const order of [[false, true], [true, false]]) {
      const idx = new MasterIndex();
      for (const m of order) idx.addPack(m ? info(marked) : info(copy), m ? marked.blobs : copy.blobs, m);
      assert.equal(idx.has(marked.blobs[0]!.id), true, `order ${order}`);
      assert.equal(idx.lookup(marked.blobs[0]!.id)?.pack.id, hex(copy.id), `order ${order}`);
      idx.addPack(info(copy), copy.blobs, true); // another index marks the copy too
      assert.equal(idx.has(marked.blobs[0]!.id), false);
      idx.clear();
      assert.equal(idx.size, 0);
      assert.equal(idx.lookup(marked.blobs[0]!.id), undefined);
    }
  });
});
