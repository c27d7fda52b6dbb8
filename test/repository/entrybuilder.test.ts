/**
 * The packer's compact blob entries (format/indexfile.ts EntryBuilder): what
 * goes in comes out, in order, past the builder's growth, and as an index
 * record encodes to the same bytes as the same entries given as objects.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeEntries, decodeIndex, EncodedPack, encodeIndex, EntryBuilder } from '../../src/repository/format/indexfile.js';
import type { BlobEntry } from '../../src/repository/format/pack.js';

function entries(n: number): BlobEntry[] {
  return Array.from({ length: n }, (_, i) => ({ type: i % 2, flags: (i >> 1) % 2, id: randomBytes(32), offset: 40 + i * 1000, length: 28 + i, rawLength: 0xffff_ffff - i }));
}

describe('EntryBuilder', () => {
  it('gives back every entry pushed, in order, past several growths', () => {
    const want = entries(1000);
    const b = new EntryBuilder();
    for (const e of want) b.push(e.type, e.flags, e.id, e.offset, e.length, e.rawLength);
    assert.equal(b.count, 1000);
    assert.deepEqual(decodeEntries(b.bytes()), want);
  });

  it('encodes as an index record exactly as the same entries as objects', () => {
    const want = entries(300);
    const b = new EntryBuilder();
    for (const e of want) b.push(e.type, e.flags, e.id, e.offset, e.length, e.rawLength);
    const head = { id: randomBytes(32), salt: randomBytes(32), kind: 0, keySource: 0 };
    const compact = encodeIndex({ packs: [new EncodedPack(head.id, head.salt, head.kind, head.keySource, b.bytes())], superseded: [] });
    const plain = encodeIndex({ packs: [{ ...head, blobs: want }], superseded: [] });
    assert.deepEqual(compact, plain);
    assert.deepEqual(decodeIndex(compact, 'test').packs[0]!.blobs, want);
  });

  it('is empty before the first push', () => {
    assert.equal(new EntryBuilder().bytes().length, 0);
  });
});
