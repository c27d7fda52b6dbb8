import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { encodeBlob, parseBlob } from '../../src/hsm/blob.js';

test('key blob: parse then encode gives back the same bytes', () => {
  for (const [kind, ring, version] of [[1, 'a', 1], [2, 'vault-kek_2', 0xffffffff], [3, 'x'.repeat(64), 7]] as const) {
    const body = randomBytes(40);
    const bytes = encodeBlob({ kind, ring, version }, body);
    const p = parseBlob(bytes);
    assert.deepEqual([p.kind, p.ring, p.version], [kind, ring, version]);
    assert.deepEqual(encodeBlob(p, p.body), bytes);
  }
});

test('key blob: malformed input is refused with a typed error, never a crash', () => {
  const good = encodeBlob({ kind: 1, ring: 'kek', version: 2 }, randomBytes(40));
  const cases: [Buffer, string][] = [
    [Buffer.alloc(0), 'CORRUPT'],
    [good.subarray(0, 9), 'CORRUPT'],
    [Buffer.concat([Buffer.from('XX'), good.subarray(2)]), 'CORRUPT'],
    [Buffer.from(good).fill(2, 2, 3), 'UNSUPPORTED_VERSION'],
    [Buffer.from(good).fill(9, 3, 4), 'CORRUPT'],
    [Buffer.from(good).fill(200, 4, 5), 'CORRUPT'],
    [Buffer.from(good).fill(0x41, 5, 6), 'CORRUPT'],
    [Buffer.from(good).fill(0, 8, 12), 'CORRUPT'],
  ];
  for (const [bytes, code] of cases) assert.throws(() => parseBlob(bytes), (e) => isEbakError(e) && e.code === code);
  for (let i = 0; i < 2000; i++) {
    try {
      parseBlob(randomBytes(i % 80));
    } catch (e) {
      assert.ok(isEbakError(e), String(e));
    }
  }
});
