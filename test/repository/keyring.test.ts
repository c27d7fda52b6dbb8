/**
 * The keyring reader (src/repository/format/keyring.ts) and the key
 * selection of a rotated repository (src/repository/rotate-keys.ts):
 * round trip, an unknown keyring or object version refused, every tampered
 * byte refused, a retired or unknown generation opens nothing, and older
 * key sources and object versions still open through the keyring.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deriveKey } from '../../src/crypto/index.js';
import { isEbakError, type ErrorCode } from '../../src/errors.js';
import type { RepoConfig } from '../../src/repository/format/config.js';
import { decodeKeyring, encodeKeyring, openConfig, sealConfig, type Keyring } from '../../src/repository/format/keyring.js';
import { encodeObject } from '../../src/repository/format/object.js';
import { decodePrefix, encodePrefix, keySourceGeneration, keySourceOf, packKeyFor } from '../../src/repository/format/pack.js';
import { KeyGenerations } from '../../src/repository/rotate-keys.js';

const K0 = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
const K1 = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x20 + i));
const CONFIG: RepoConfig = {
  version: 1, id: '20'.repeat(32), created: '2026-01-02T03:04:05.678Z',
  chunker: { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 }, compression_level: 3, pack_size: 16 * 1024 * 1024,
};
const KEYRING: Keyring = {
  generation: 1, blobIdKey: deriveKey(K0, 'blob-id'), gearSeed: deriveKey(K0, 'gear'),
  old: [{ generation: 0, key: K0 }], pending: ['ab'.repeat(32)],
};

const fails = (code: ErrorCode) => (e: unknown) => isEbakError(e, code);
/** The config object of generation 1 sealed around a hand-made payload. */
const sealedPayload = (payload: Buffer, generation = 1) => encodeObject(deriveKey(K1, 'object'), 'config', payload, generation);

describe('keyring', () => {
  it('round-trips: the config of generation 1 opens with K1 and names K0, the shared subkeys and what is pending', () => {
    const raw = sealConfig(K1, CONFIG, KEYRING);
    assert.equal(raw[4], 3, 'an EBKO version 3 object');
    assert.equal(raw[7], 1, 'of generation 1');
    const opened = openConfig(K1, raw);
    assert.deepEqual(opened.config, CONFIG);
    assert.deepEqual(opened.keyring, KEYRING);
    assert.deepEqual(decodeKeyring(encodeKeyring(KEYRING, CONFIG), 1), opened);
  });

  it('a repository never rotated keeps its version 1 config, without a keyring', () => {
    const raw = sealConfig(K0, CONFIG);
    assert.equal(raw[4], 1);
    assert.deepEqual(openConfig(K0, raw), { config: CONFIG });
  });

  it('refuses a keyring version it does not know, and broken records', () => {
    const good = encodeKeyring(KEYRING, CONFIG);
    const edited = (at: number, value: number) => Buffer.from(good.map((b, i) => (i === at ? value : b)));
    assert.throws(() => openConfig(K1, sealedPayload(edited(0, 2))), fails('UNSUPPORTED_VERSION'), 'keyring version 2');
    assert.throws(() => openConfig(K1, sealedPayload(edited(0, 0))), fails('UNSUPPORTED_VERSION'), 'keyring version 0');
    assert.throws(() => openConfig(K1, sealedPayload(edited(1, 2))), fails('CORRUPT'), 'a generation other than the header\'s');
    assert.throws(() => openConfig(K1, sealedPayload(Buffer.concat([good, Buffer.from([0])]))), fails('CORRUPT'), 'a trailing byte');
    assert.throws(() => openConfig(K1, sealedPayload(good.subarray(0, good.length - 1))), fails('CORRUPT'), 'cut');
    const self = encodeKeyring({ ...KEYRING, old: [{ generation: 1, key: K0 }] }, CONFIG);
    assert.throws(() => openConfig(K1, sealedPayload(self)), fails('CORRUPT'), 'an old key of the current generation');
    const twice = encodeKeyring({ ...KEYRING, generation: 3, old: [{ generation: 1, key: K0 }, { generation: 1, key: K0 }] }, CONFIG);
    assert.throws(() => openConfig(K1, sealedPayload(twice, 3)), fails('CORRUPT'), 'old generations not increasing');
  });

  it('refuses every flipped bit of the sealed config (AUTH_FAILED, or UNSUPPORTED_VERSION for the version and generation bytes)', () => {
    const raw = sealConfig(K1, CONFIG, KEYRING);
    for (let i = 0; i < raw.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const m = Buffer.from(raw);
        m[i]! ^= 1 << bit;
        assert.throws(() => openConfig(K1, m), (e) => isEbakError(e, 'AUTH_FAILED') || ((i === 4 || i === 7) && isEbakError(e, 'UNSUPPORTED_VERSION')), `byte ${i} bit ${bit}`);
      }
    }
    assert.throws(() => openConfig(K0, raw), fails('AUTH_FAILED'), 'the retired key K0 does not open it');
  });

  it('refuses object generations outside 1…127 before authentication', () => {
    const raw = sealConfig(K1, CONFIG, KEYRING);
    for (const g of [0, 128, 255]) assert.throws(() => openConfig(K1, Buffer.from(raw.map((b, i) => (i === 7 ? g : b)))), fails('UNSUPPORTED_VERSION'), `generation ${g}`);
    assert.throws(() => sealConfig(K1, CONFIG, { ...KEYRING, generation: 128 }), fails('USAGE'));
  });
});

describe('key sources and generations', () => {
  it('key sources: 0 and 1 are generation 0, 3…0x7F write-only generations 1…125, 0x81…0xFF generations 1…127; 2 and 0x80 are unknown', () => {
    assert.equal(keySourceOf(0), 0);
    assert.equal(keySourceOf(1), 0x81);
    assert.equal(keySourceOf(127), 0xff);
    assert.deepEqual(keySourceGeneration(1), { generation: 0, writeOnly: true });
    assert.deepEqual(keySourceGeneration(0x85), { generation: 5, writeOnly: false });
    assert.deepEqual(keySourceGeneration(3), { generation: 1, writeOnly: true });
    assert.deepEqual(keySourceGeneration(0x7f), { generation: 0x7d, writeOnly: true });
    for (const ks of [2, 0x80]) {
      assert.equal(keySourceGeneration(ks), undefined);
      assert.throws(() => decodePrefix(encodePrefix(0, ks, Buffer.alloc(32)), 'pack'), fails('UNSUPPORTED_VERSION'), `key source ${ks}`);
    }
  });

  it('the keys of generation 1 open packs and objects of both generations; generation 0 alone opens nothing of generation 1', async () => {
    const gens = KeyGenerations.of(K1, KEYRING, CONFIG.id);
    const salt = Buffer.alloc(32, 5);
    const prefix = (ks: number) => ({ kind: 0, keySource: ks, salt });
    assert.deepEqual(await gens.packKey(prefix(0x81), 'p'), packKeyFor(deriveKey(K1, 'pack'), salt));
    assert.deepEqual(await gens.packKey(prefix(0), 'p'), packKeyFor(deriveKey(K0, 'pack'), salt));
    await assert.rejects(gens.packKey(prefix(0x82), 'p'), fails('AUTH_FAILED'), 'a generation the keyring does not hold');
    assert.deepEqual(gens.keys.blobId, deriveKey(K0, 'blob-id'), 'blob ids stay generation 0\'s');
    assert.deepEqual(gens.keys.gearSeed, deriveKey(K0, 'gear'));
    const old = encodeObject(deriveKey(K0, 'object'), 'lock', Buffer.from('{}'));
    const now = encodeObject(deriveKey(K1, 'object'), 'lock', Buffer.from('{"a":1}'), 1);
    assert.equal((await gens.openObject('lock', old, 'old')).toString(), '{}');
    assert.equal((await gens.openObject('lock', now, 'new')).toString(), '{"a":1}');
    const gen0 = KeyGenerations.of(K0, undefined, CONFIG.id);
    await assert.rejects(gen0.openObject('lock', now, 'new'), fails('AUTH_FAILED'));
    await assert.rejects(gen0.packKey(prefix(0x81), 'p'), fails('AUTH_FAILED'));
    const dropped = KeyGenerations.of(K1, { ...KEYRING, old: [] }, CONFIG.id);
    await assert.rejects(dropped.openObject('lock', old, 'old'), fails('AUTH_FAILED'), 'once the old keys are dropped, nothing of generation 0 opens');
    await assert.rejects(dropped.packKey(prefix(1), 'p'), fails('AUTH_FAILED'), 'nor a write-only credential\'s pack of generation 0');
  });
});
