/** The enclave's plaintext memory (src/vault/state/plain.ts) and its bound (src/util/lru.ts). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sha256 } from '../../src/crypto/index.js';
import { Lru } from '../../src/util/lru.js';
import { PlainCache } from '../../src/vault/state/plain.js';

test('a held plaintext answers only for the same version and hash as the map entry', () => {
  const cache = new PlainCache(1 << 20);
  const h = sha256(Buffer.from('copy 3'));
  cache.put('ctr/a', 3, h, Buffer.from('{"failures":3}'));
  assert.equal(cache.get('ctr/a', { version: 3, hash: h }, 3, h)?.toString(), '{"failures":3}');
  const other = sha256(Buffer.from('another copy 3'));
  assert.equal(cache.get('ctr/a', { version: 3, hash: h }, 3, other), undefined, 'the row is another copy');
  assert.equal(cache.get('ctr/a', { version: 3, hash: other }, 3, h), undefined, 'the map names another copy');
  assert.equal(cache.get('ctr/a', { version: 4, hash: h }, 3, h), undefined, 'the map is newer');
  assert.equal(cache.get('ctr/a', { version: 2, hash: h }, 2, h), undefined, 'an older version');
  assert.equal(cache.get('ctr/b', { version: 3, hash: h }, 3, h), undefined, 'another record');
});

test('the memory stays under its byte bound, least recently used out first, and what leaves is zeroed', () => {
  const cache = new PlainCache(3 * (1000 + 2 * 5 + 160));
  const plains = Array.from({ length: 5 }, () => Buffer.alloc(1000, 1));
  const h = (i: number) => sha256(Buffer.from([i]));
  for (let i = 0; i < 3; i++) cache.put(`r/${i}`, 1, h(i), plains[i]!);
  assert.ok(cache.get('r/0', { version: 1, hash: h(0) }, 1, h(0)), 'r/0 used: r/1 is now the oldest');
  cache.put('r/3', 1, h(3), plains[3]!);
  assert.ok(cache.weight <= 3 * 1170);
  assert.equal(cache.get('r/1', { version: 1, hash: h(1) }, 1, h(1)), undefined);
  assert.ok(plains[1]!.every((b) => b === 0), 'evicted plaintext zeroed');
  assert.ok(cache.get('r/0', { version: 1, hash: h(0) }, 1, h(0)));
  cache.put('r/0', 2, h(4), plains[4]!);
  assert.ok(plains[0]!.every((b) => b === 0), 'a replaced copy is zeroed');
});

test('an entry heavier than the bound is not kept', () => {
  const gone: string[] = [];
  const lru = new Lru<string, string>({ capacity: 4, weigh: (v) => v.length, dispose: (v) => gone.push(v) });
  lru.set('a', 'aa');
  lru.set('b', 'xxxxx');
  assert.deepEqual([lru.get('a'), lru.get('b'), lru.size, gone], ['aa', undefined, 1, ['xxxxx']]);
  lru.deleteWhere((v) => v === 'aa');
  assert.deepEqual([lru.size, lru.weight], [0, 0]);
});
