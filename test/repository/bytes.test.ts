/**
 * The binary formats' Writer appends to one buffer that doubles when full:
 * fields that cross a doubling (of every width) land where a field-by-field
 * concatenation puts them, and what `finish` returns is its own buffer of
 * exactly the bytes written, which later writes never change; given its
 * size beforehand (it then hands over its one buffer), exact, short or
 * over, the same bytes.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { Reader, Writer } from '../../src/repository/format/bytes.js';

describe('Writer', () => {
  it('writes fields across many doublings as a concatenation of each field', () => {
    const w = new Writer();
    const expected: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) {
      const id = randomBytes(i % 7 === 0 ? 4099 : 32);
      w.u8(i & 255).bytes(id).u32(i * 65_537);
      const u32 = Buffer.alloc(4);
      u32.writeUInt32LE((i * 65_537) >>> 0);
      expected.push(Buffer.from([i & 255]), id, u32);
    }
    assert.ok(Buffer.concat(expected).equals(w.finish()));
  });

  it('returns a buffer of its own, of exactly the bytes written', () => {
    const w = new Writer().u32(7).bytes(Buffer.from('abc'));
    const out = w.finish();
    assert.equal(out.length, 7);
    const r = new Reader(out, 'test');
    assert.equal(r.u32(), 7);
    assert.equal(r.bytes(3).toString(), 'abc');
    r.end(); // finish zeroes its own buffer: a view of it would read 0 here
  });

  it('given a size (exact, short or over), writes the same bytes', () => {
    const fields = (w: Writer) => w.u8(1).u32(2).bytes(Buffer.from('abcdef'));
    const expected = fields(new Writer()).finish();
    for (const size of [0, 5, 11, 64]) assert.ok(fields(new Writer(size)).finish().equals(expected), `capacity ${size}`);
  });
});
