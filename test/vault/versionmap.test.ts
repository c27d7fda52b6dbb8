/**
 * Version map v1 and guard value v1 (docs/vault.md "Rollback guard at scale",
 * docs/hsm.md "Rollback register"), and the root's format 2 (its ancestors):
 * the vectors in test/hsm/vectors are recomputed with node:crypto alone, and
 * the codecs must give the same bytes back (format 1 roots are still read);
 * tampering and truncation are refused by class.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { decodeGuardValue, encodeGuardValue } from '../../src/hsm/pkcs11/register.js';
import { ANCESTORS, EMPTY_DIGESTS, ancestorHash, decodeRoot, decodeShard, encodeRoot, encodeShard, mapKey, shardOf, successorAncestors } from '../../src/vault/state/versionmap.js';

interface Vector {
  recordKey: string; mapKey: string; epoch: number; prev: string; root: string; rootHash: string; guardValue: string; emptyShard0: string;
  rows: { id: string; version: number; sealed: string; shard: number }[];
  shards: { index: number; bytes: string }[];
}
const vector = <T>(name: string) => JSON.parse(readFileSync(new URL(`../../../test/hsm/vectors/${name}`, import.meta.url), 'utf8')) as T;
const v = vector<Vector>('version-map-v1.json');
/** A format 2 root over v's shards. */
const v2 = vector<{ epoch: number; prev: string; ancestors: string[]; root: string; rootHash: string }>('version-map-v2.json');
const sha = (b: Buffer) => createHash('sha256').update(b).digest();
const hex = (s: string) => Buffer.from(s, 'hex');
const u = (n: number, bytes: number) => Buffer.from(BigInt(n).toString(16).padStart(bytes * 2, '0'), 'hex');

describe('version map v1 vectors', () => {
  it('derives the map key, shards, root and guard value as documented (node:crypto alone)', () => {
    assert.equal(v.rows.length, 3);
    assert.equal(v.shards.length, 3);
    const key = Buffer.from(hkdfSync('sha256', hex(v.recordKey), Buffer.alloc(0), 'ebak/v1/vault-version-map', 32));
    assert.equal(key.toString('hex'), v.mapKey);
    const digests: Buffer[] = Array.from({ length: 256 }, (_, k) => sha(Buffer.concat([Buffer.from('EBVS'), Buffer.from([1, k]), u(0, 4)])));
    assert.equal(Buffer.concat([Buffer.from('EBVS'), Buffer.from([1, 0]), u(0, 4)]).toString('hex'), v.emptyShard0);
    for (const row of v.rows) {
      assert.equal(sha(Buffer.from(row.id))[0], row.shard, row.id);
      const id = Buffer.from(row.id);
      const bytes = Buffer.concat([Buffer.from('EBVS'), Buffer.from([1, row.shard]), u(1, 4), u(id.length, 2), id, u(row.version, 8), sha(hex(row.sealed))]);
      assert.equal(bytes.toString('hex'), v.shards.find((s) => s.index === row.shard)!.bytes, row.id);
      digests[row.shard] = sha(bytes);
    }
    const body = Buffer.concat([Buffer.from('EBVM'), Buffer.from([1]), u(v.epoch, 8), hex(v.prev), u(256, 2), ...digests]);
    const root = Buffer.concat([body, createHmac('sha256', key).update(body).digest()]);
    assert.equal(root.toString('hex'), v.root);
    assert.equal(sha(root).toString('hex'), v.rootHash);
    assert.equal(Buffer.concat([Buffer.from('EBVG'), Buffer.from([1]), u(v.epoch, 8), sha(root)]).toString('hex'), v.guardValue);
  });

  it('the codecs produce and read back exactly these bytes', () => {
    const key = mapKey(hex(v.recordKey));
    const digests = EMPTY_DIGESTS.slice();
    for (const s of v.shards) {
      const decoded = decodeShard(s.index, hex(s.bytes));
      assert.equal(encodeShard(s.index, decoded).toString('hex'), s.bytes);
      for (const row of v.rows.filter((r) => r.shard === s.index)) {
        assert.equal(shardOf(row.id), s.index);
        assert.deepEqual(decoded.get(row.id), { version: row.version, hash: sha(hex(row.sealed)) });
      }
      digests[s.index] = sha(hex(s.bytes));
    }
    const root = decodeRoot(hex(v.root), key); // format 1: read, no longer written
    assert.deepEqual(root, { epoch: v.epoch, prev: hex(v.prev), ancestors: [], digests });
    assert.equal(encodeGuardValue({ epoch: v.epoch, hash: hex(v.rootHash) }).toString('hex'), v.guardValue);
    assert.deepEqual(decodeGuardValue(hex(v.guardValue)), { epoch: v.epoch, hash: hex(v.rootHash) });
  });

  it('a root not made with the map key, a truncated shard and an unknown format are refused by class', () => {
    const root = hex(v.root);
    const flipped = Buffer.from(root);
    flipped[20] ^= 1;
    assert.throws(() => decodeRoot(flipped, mapKey(hex(v.recordKey))), (e) => isEbakError(e, 'AUTH_FAILED'));
    assert.throws(() => decodeRoot(root, mapKey(Buffer.alloc(32, 1))), (e) => isEbakError(e, 'AUTH_FAILED'));
    assert.throws(() => decodeRoot(root.subarray(0, 100), mapKey(hex(v.recordKey))), (e) => isEbakError(e, 'CORRUPT'));
    const shard = hex(v.shards[0]!.bytes);
    assert.throws(() => decodeShard(v.shards[0]!.index, shard.subarray(0, shard.length - 1)), (e) => isEbakError(e, 'CORRUPT'));
    assert.throws(() => decodeShard(v.shards[0]!.index + 1, shard), (e) => isEbakError(e, 'CORRUPT'));
    const future = Buffer.from(shard);
    future[4] = 2;
    assert.throws(() => decodeShard(v.shards[0]!.index, future), (e) => isEbakError(e, 'UNSUPPORTED_VERSION'));
    const guard = hex(v.guardValue);
    guard[4] = 9;
    assert.throws(() => decodeGuardValue(guard), (e) => isEbakError(e, 'UNSUPPORTED_VERSION'));
  });
});

describe('version map root format 2 vectors', () => {
  const key = mapKey(hex(v.recordKey));
  const digests = () => {
    const d = EMPTY_DIGESTS.slice();
    for (const s of v.shards) d[s.index] = sha(hex(s.bytes));
    return d;
  };

  it('a root naming its ancestors is laid out as documented (node:crypto alone), and the codec gives the same bytes', () => {
    const body = Buffer.concat([Buffer.from('EBVM'), Buffer.from([2]), u(v2.epoch, 8), hex(v2.prev), Buffer.from([v2.ancestors.length]), ...v2.ancestors.map(hex), u(256, 2), ...digests()]);
    const bytes = Buffer.concat([body, createHmac('sha256', key).update(body).digest()]);
    assert.equal(bytes.toString('hex'), v2.root);
    assert.equal(sha(bytes).toString('hex'), v2.rootHash);
    const root = { epoch: v2.epoch, prev: hex(v2.prev), ancestors: v2.ancestors.map(hex), digests: digests() };
    assert.equal(encodeRoot(root, key).toString('hex'), v2.root);
    assert.deepEqual(decodeRoot(hex(v2.root), key), root);
  });

  it('names the hashes back from its own: itself, its prev, then its ancestors, and no further', () => {
    const root = decodeRoot(hex(v2.root), key);
    assert.equal(ancestorHash(root, hex(v2.rootHash), 7)?.toString('hex'), v2.rootHash);
    assert.equal(ancestorHash(root, hex(v2.rootHash), 6)?.toString('hex'), v2.prev);
    assert.equal(ancestorHash(root, hex(v2.rootHash), 5)?.toString('hex'), v2.ancestors[0]);
    assert.equal(ancestorHash(root, hex(v2.rootHash), 4)?.toString('hex'), v2.ancestors[1]);
    assert.equal(ancestorHash(root, hex(v2.rootHash), 3), undefined);
    assert.deepEqual(successorAncestors(root).map((b) => b.toString('hex')), [v2.prev, ...v2.ancestors]);
    const deep = { ...root, ancestors: Array.from({ length: ANCESTORS }, (_, i) => Buffer.alloc(32, i)) };
    assert.equal(successorAncestors(deep).length, ANCESTORS, 'the oldest falls off');
    assert.equal(successorAncestors({ ...root, epoch: 1 }).length, 0, "epoch 1's prev is no root");
  });

  it('tampered ancestors, a count beyond the bytes, more than ANCESTORS and an unknown format are refused by class', () => {
    const root = hex(v2.root);
    const tampered = Buffer.from(root);
    tampered[46] ^= 1;
    assert.throws(() => decodeRoot(tampered, key), (e) => isEbakError(e, 'AUTH_FAILED'));
    const miscounted = Buffer.from(root);
    miscounted[45] = 3;
    assert.throws(() => decodeRoot(miscounted, key), (e) => isEbakError(e, 'CORRUPT'));
    assert.throws(() => encodeRoot({ ...decodeRoot(root, key), ancestors: Array.from({ length: ANCESTORS + 1 }, () => Buffer.alloc(32)) }, key), (e) => isEbakError(e, 'USAGE'));
    const future = Buffer.from(root);
    future[4] = 3;
    assert.throws(() => decodeRoot(future, key), (e) => isEbakError(e, 'UNSUPPORTED_VERSION'));
  });
});
