/**
 * test/vectors/write-only-generation.json (docs/format.md, "Write-only
 * credentials of a rotated repository"): a generation-1 credential's bundle
 * decodes to the credential the inputs make; its key source 3 pack and its
 * EBKO v2 object (key source 3) open for a full key holding generation 1,
 * not for one of generation 0 only; every mutation gives its named outcome.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decodeCredential } from '../../src/repository/writeonly/credential.js';
import { applyEdits } from '../repository/vector-kit.js';
import { fixedCredential, keys1, loadGenerationVectors, objectOutcomes, packPlaintexts, rotated, unrotated } from './write-only-generation-kit.js';

const v = loadGenerationVectors();
const unhex = (s: string) => Buffer.from(s, 'hex');

it('write-only-generation.json: the key pair and the bundle of generation 1', async () => {
  const c = await fixedCredential();
  assert.equal(v.keyPair.seed, keys1.writeOnly.toString('hex'));
  assert.equal(v.keyPair.publicKey, c.publicKey.toString('hex'));
  assert.deepEqual(decodeCredential(Buffer.from(v.bundle), 'vector bundle'), c);
  assert.equal((JSON.parse(v.bundle) as { generation: number }).generation, 1);
});

it('write-only-generation.json: the key source 3 object and its mutations', async () => {
  const c = await fixedCredential();
  const bytes = unhex(v.object.hex);
  assert.equal(bytes[7], 3);
  assert.deepEqual(await objectOutcomes(c, v.object.type, bytes, unhex(v.object.payload)), { rotated: 'ok', own: 'ok', unrotated: v.object.unrotated });
  assert.equal(v.object.mutations.length, 5);
  for (const m of v.object.mutations) {
    const got = await objectOutcomes(c, v.object.type, applyEdits(bytes, m.edits), unhex(v.object.payload));
    assert.deepEqual({ rotated: got.rotated, own: got.own }, { rotated: m.rotated, own: m.own }, m.name);
  }
});

it('write-only-generation.json: the key source 3 pack and its mutations', async () => {
  const bytes = unhex(v.pack.hex);
  assert.equal(bytes[5], 3);
  assert.deepEqual(await packPlaintexts(bytes, rotated), { expect: 'ok', plaintexts: v.pack.plaintexts });
  assert.equal((await packPlaintexts(bytes, unrotated)).expect, v.pack.unrotated);
  assert.equal(v.pack.mutations.length, 3);
  for (const m of v.pack.mutations) assert.equal((await packPlaintexts(applyEdits(bytes, m.edits), rotated)).expect, m.expect, m.name);
});
