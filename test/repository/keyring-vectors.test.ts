/**
 * test/vectors/rotation.json (docs/format.md, "Master-key rotation"): the
 * keyring payload, a config object of generation 1 carrying it, a pack of
 * key source 0x81 and an EBKO version 3 lock, each with its mutations,
 * read by the code and (the unmutated ones) by a reader written here from
 * the format page alone with node:crypto; the vector count is asserted.
 */
import assert from 'node:assert/strict';
import { createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { it } from 'node:test';
import { decompressBounded } from '../../src/compress/index.js';
import { decodeKeyring, type Keyring } from '../../src/repository/format/keyring.js';
import { configOutcome, generations, INPUTS, loadRotationVectors, lockOutcome, packVectorOutcome } from '../vectors/rotation-kit.js';
import { applyEdits } from './vector-kit.js';

const v = loadRotationVectors();
const unhex = (s: string) => Buffer.from(s, 'hex');
const keyring: Keyring = {
  generation: v.keyring.generation, blobIdKey: unhex(v.subkeys.blob_id_key), gearSeed: unhex(v.subkeys.gear_seed),
  old: v.keyring.old.map((o) => ({ generation: o.generation, key: unhex(o.key) })), pending: v.keyring.pending,
};

// ---- an independent reader, from docs/format.md only
const hkdf = (ikm: Buffer, salt: Buffer, label: string) => Buffer.from(hkdfSync('sha256', ikm, salt, `ebak/v1/${label}`, 32));
function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}
/** EBKO version 3: magic, 3, type, flags, generation, salt[16]; key = HKDF(HKDF(K_g, "", "object"), salt, "object"); AAD = the 24 header bytes. */
function openV3(masterKey: Buffer, raw: Buffer): { generation: number; type: number; payload: Buffer } {
  assert.equal(raw.subarray(0, 4).toString(), 'EBKO');
  assert.equal(raw[4], 3);
  const header = raw.subarray(0, 24);
  const body = gcmOpen(hkdf(hkdf(masterKey, Buffer.alloc(0), 'object'), header.subarray(8, 24), 'object'), raw.subarray(24), header);
  return { generation: raw[7]!, type: raw[5]!, payload: raw[6]! & 1 ? decompressBounded(body, 1 << 20, 'vector') : body };
}
/** The keyring record: version, generation, blob-id key, gear seed, old keys, pending key files, the config JSON. */
function parseKeyring(p: Buffer) {
  let o = 0;
  const u8 = () => p[o++]!;
  const u32 = () => ((o += 4), p.readUInt32LE(o - 4));
  const take = (n: number) => ((o += n), p.subarray(o - n, o));
  const version = u8();
  const generation = u8();
  const blobIdKey = take(32).toString('hex');
  const gearSeed = take(32).toString('hex');
  const old = Array.from({ length: u32() }, () => ({ generation: u8(), key: take(32).toString('hex') }));
  const pending = Array.from({ length: u32() }, () => take(32).toString('hex'));
  const config = JSON.parse(take(u32()).toString()) as { id: string };
  assert.equal(o, p.length, 'nothing after the config');
  return { version, generation, blobIdKey, gearSeed, old, pending, config };
}

it('rotation.json: the keyring, config, pack and lock of generation 1 and their mutations, by the code and from the spec', async () => {
  const counts = [v.config_object.mutations.length, v.pack.mutations.length, v.lock_object.mutations.length];
  assert.deepEqual(counts, [10, 6, 5], 'every vector was loaded');
  const gens = generations(keyring);

  // The keyring payload is fixed by the inputs: the code decodes it, and so does the spec's reader.
  const payload = unhex(v.keyring.payload);
  assert.deepEqual(decodeKeyring(payload, 1).keyring, keyring);
  const spec = parseKeyring(payload);
  assert.deepEqual({ ...spec, config: undefined }, { version: 1, generation: 1, blobIdKey: v.subkeys.blob_id_key, gearSeed: v.subkeys.gear_seed, old: v.keyring.old, pending: v.keyring.pending, config: undefined });
  assert.equal(spec.config.id, v.inputs.repository_id);
  assert.equal(v.subkeys.blob_id_key, hkdf(unhex(v.inputs.k0), Buffer.alloc(0), 'blob-id').toString('hex'), 'blob ids stay generation 0\'s');

  // The config object: K1 opens it and finds the keyring; K0 does not.
  const config = unhex(v.config_object.hex);
  assert.equal(configOutcome(config), 'ok');
  assert.equal(configOutcome(config, INPUTS.k0), 'AUTH_FAILED');
  const opened = openV3(unhex(v.inputs.k1), config);
  assert.deepEqual([opened.generation, opened.type], [1, 1]);
  assert.deepEqual(opened.payload, payload);
  for (const m of v.config_object.mutations) assert.equal(configOutcome(m.edits.length ? applyEdits(config, m.edits) : unhex(v.config_keyring_v2)), m.expect, `config: ${m.name}`);

  // The pack of key source 0x81: K1's pack subkey and the salt give its key; K0 alone opens nothing.
  const pack = unhex(v.pack.hex);
  assert.equal(pack[5], v.pack.key_source);
  const packKey = hkdf(hkdf(unhex(v.inputs.k1), Buffer.alloc(0), 'pack'), pack.subarray(8, 40), 'pack');
  assert.equal(packKey.toString('hex'), v.pack.per_pack_key);
  const headerLen = pack.readUInt32LE(pack.length - 4);
  const header = gcmOpen(packKey, pack.subarray(pack.length - 4 - headerLen, pack.length - 4), Buffer.concat([Buffer.from('ebak/v1/pack-header'), pack.subarray(0, 40)]));
  assert.equal(header.readUInt32LE(1), 1, 'one blob');
  const blob = gcmOpen(packKey, pack.subarray(40, 40 + header.readUInt32LE(39)), Buffer.concat([Buffer.from('ebak/v1/blob'), header.subarray(5, 7), header.subarray(43, 47), header.subarray(7, 39)]));
  assert.equal(blob.toString('hex'), v.pack.blob);
  assert.equal(createHmac('sha256', unhex(v.subkeys.blob_id_key)).update(blob).digest('hex'), v.pack.blob_id);
  assert.equal(await packVectorOutcome(gens, keyring.blobIdKey, pack), 'ok');
  for (const m of v.pack.mutations) assert.equal(await packVectorOutcome(gens, keyring.blobIdKey, applyEdits(pack, m.edits)), m.expect, `pack: ${m.name}`);

  // The lock, EBKO version 3 of generation 1.
  const lock = unhex(v.lock_object.hex);
  assert.equal(openV3(unhex(v.inputs.k1), lock).payload.toString('hex'), v.lock_object.payload);
  assert.equal(await lockOutcome(gens, lock), 'ok');
  for (const m of v.lock_object.mutations) assert.equal(await lockOutcome(gens, applyEdits(lock, m.edits)), m.expect, `lock: ${m.name}`);
});
