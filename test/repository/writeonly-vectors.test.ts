/**
 * test/vectors/write-only.json (docs/format.md, "Write-only credentials"):
 * the key pair, the pack and object keys under fixed ephemeral key material,
 * an EBKO version 2 object, a key source 1 pack and a version 2 key file,
 * each with mutations naming the outcome (for objects: the full key's and
 * the credential's). Keys and encs are recomputed twice: through the code,
 * and by an independent RFC 9180 reader written here with node:crypto alone
 * (DeriveKeyPair, Encap/Decap, KeySchedule and Export, base mode), which
 * also opens the object and the pack from docs/format.md's layout.
 */
import assert from 'node:assert/strict';
import { createDecipheriv, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { openedKey, sealedKey } from '../../src/repository/format/hpke.js';
import { decodeCredential, encodeCredential } from '../../src/repository/writeonly/credential.js';
import { applyEdits, mutateKeyFile } from './vector-kit.js';
import { fixedCredential, keyFileOutcome, keys, loadWriteOnlyVectors, objectOutcomes, packPlaintexts, reader } from '../vectors/write-only-kit.js';

const v = loadWriteOnlyVectors();
const zstd = createRequire(import.meta.url)('zstd-napi') as { decompress(b: Uint8Array): Buffer };
const unhex = (s: string) => Buffer.from(s, 'hex');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// ------------------------------------------------ RFC 9180, from the RFC alone (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, export-only)
const i2osp = (n: number, w: number) => Buffer.from(Array.from({ length: w }, (_, i) => (n >> (8 * (w - 1 - i))) & 0xff));
const KEM_ID = i2osp(0x0020, 2);
const KEM_SUITE = Buffer.concat([Buffer.from('KEM'), KEM_ID]);
const HPKE_SUITE = Buffer.concat([Buffer.from('HPKE'), KEM_ID, i2osp(0x0001, 2), i2osp(0xffff, 2)]);
const extract = (salt: Buffer, ikm: Buffer) => createHmac('sha256', salt.length ? salt : Buffer.alloc(32)).update(ikm).digest();
/** RFC 5869 HKDF-Expand. */
function expand(prk: Buffer, info: Buffer, l: number): Buffer {
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < l; i++) out.push((t = createHmac('sha256', prk).update(Buffer.concat([t, info, Buffer.of(i)])).digest()));
  return Buffer.concat(out).subarray(0, l);
}
const labeledExtract = (suite: Buffer, salt: Buffer, label: string, ikm: Buffer) => extract(salt, Buffer.concat([Buffer.from('HPKE-v1'), suite, Buffer.from(label), ikm]));
const labeledExpand = (suite: Buffer, prk: Buffer, label: string, info: Buffer, l: number) => expand(prk, Buffer.concat([i2osp(l, 2), Buffer.from('HPKE-v1'), suite, Buffer.from(label), info]), l);

const x25519Private = (sk: Buffer) => createPrivateKey({ key: Buffer.concat([unhex('302e020100300506032b656e04220420'), sk]), format: 'der', type: 'pkcs8' });
const x25519Public = (pk: Buffer) => createPublicKey({ key: Buffer.concat([unhex('302a300506032b656e032100'), pk]), format: 'der', type: 'spki' });
const rawPublic = (sk: Buffer) => createPublicKey(x25519Private(sk)).export({ format: 'der', type: 'spki' }).subarray(12);

/** RFC 9180 §7.1.3 DeriveKeyPair for X25519. */
function deriveKeyPair(ikm: Buffer): { sk: Buffer; pk: Buffer } {
  const sk = labeledExpand(KEM_SUITE, labeledExtract(KEM_SUITE, Buffer.alloc(0), 'dkp_prk', ikm), 'sk', Buffer.alloc(0), 32);
  return { sk, pk: rawPublic(sk) };
}

/** §4.1 ExtractAndExpand over DH(sk, pk) with kem_context = enc ‖ pkR. */
function sharedSecret(sk: Buffer, pk: Buffer, enc: Buffer, pkR: Buffer): Buffer {
  const dh = diffieHellman({ privateKey: x25519Private(sk), publicKey: x25519Public(pk) });
  return labeledExpand(KEM_SUITE, labeledExtract(KEM_SUITE, Buffer.alloc(0), 'eae_prk', dh), 'shared_secret', Buffer.concat([enc, pkR]), 32);
}

/** §5.1 KeySchedule (mode_base, no PSK) then §5.3 Export(label, 32). */
function exportKey(shared: Buffer, info: Buffer, label: string): Buffer {
  const context = Buffer.concat([Buffer.of(0), labeledExtract(HPKE_SUITE, Buffer.alloc(0), 'psk_id_hash', Buffer.alloc(0)), labeledExtract(HPKE_SUITE, Buffer.alloc(0), 'info_hash', info)]);
  const secret = labeledExtract(HPKE_SUITE, shared, 'secret', Buffer.alloc(0));
  return labeledExpand(HPKE_SUITE, labeledExpand(HPKE_SUITE, secret, 'exp', context, 32), 'sec', Buffer.from(label), 32);
}

const info = Buffer.concat([Buffer.from('ebak/v1/write-only'), unhex(v.inputs.repositoryId)]);
const recipient = deriveKeyPair(Buffer.from(hkdfSync('sha256', unhex(v.inputs.master), Buffer.alloc(0), 'ebak/v1/write-only', 32)));

function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

// ------------------------------------------------ the vectors
test('write-only.json: the key pair from K, and the pack and object keys under the fixed ekm (code and RFC 9180 reader agree)', async () => {
  assert.equal(hex(keys.writeOnly), v.keyPair.seed);
  assert.equal(hex((await reader.keyPair()).publicKey), v.keyPair.publicKey);
  assert.equal(hex(recipient.pk), v.keyPair.publicKey);
  for (const [label, k] of [['pack', v.packKey], ['object', v.objectKey]] as const) {
    const sent = await sealedKey(unhex(v.keyPair.publicKey), v.inputs.repositoryId, label, unhex(k.ekm));
    assert.deepEqual([hex(sent.enc), hex(sent.key)], [k.enc, k.key], label);
    assert.equal(hex(await openedKey(await reader.keyPair(), v.inputs.repositoryId, label, unhex(k.enc), label)), k.key);
    const eph = deriveKeyPair(unhex(k.ekm));
    assert.equal(hex(eph.pk), k.enc, `${label}: enc = the ephemeral public key`);
    assert.equal(hex(exportKey(sharedSecret(eph.sk, recipient.pk, eph.pk, recipient.pk), info, label)), k.key, `${label}: sender side`);
    assert.equal(hex(exportKey(sharedSecret(recipient.sk, eph.pk, eph.pk, recipient.pk), info, label)), k.key, `${label}: recipient side`);
  }
});

test('write-only.json: the EBKO version 2 object opens for both sides, and from the spec; its mutations give their named outcomes', async () => {
  const c = await fixedCredential();
  const bytes = unhex(v.object.hex);
  assert.deepEqual(await objectOutcomes(c, v.object.type, bytes, unhex(v.object.payload)), { full: 'ok', own: 'ok' });
  assert.equal(hex(bytes.subarray(8, 40)), v.objectKey.enc);
  const header = bytes.subarray(0, 100);
  assert.equal(hex(gcmOpen(unhex(v.inputs.deviceKey), bytes.subarray(40, 100), Buffer.concat([Buffer.from('ebak/v1/device-wrap'), bytes.subarray(0, 40)]))), v.objectKey.key);
  const body = gcmOpen(unhex(v.objectKey.key), bytes.subarray(100), header);
  assert.equal(hex(bytes[6] === 1 ? zstd.decompress(body) : body), v.object.payload);
  assert.equal(v.object.mutations.length, 13);
  for (const m of v.object.mutations)
    assert.deepEqual(await objectOutcomes(c, v.object.type, applyEdits(bytes, m.edits), unhex(v.object.payload)), { full: m.full, own: m.own }, m.name);
});

test('write-only.json: the key source 1 pack opens for the full key, and from the spec; its mutations fail', async () => {
  const bytes = unhex(v.pack.hex);
  assert.deepEqual(await packPlaintexts(bytes), { expect: 'ok', plaintexts: v.pack.plaintexts });
  assert.deepEqual([bytes[5], hex(bytes.subarray(8, 40))], [1, v.packKey.enc]);
  const headerLen = bytes.readUInt32LE(bytes.length - 4);
  const h = gcmOpen(unhex(v.packKey.key), bytes.subarray(bytes.length - 4 - headerLen, bytes.length - 4), Buffer.concat([Buffer.from('ebak/v1/pack-header'), bytes.subarray(0, 40)]));
  assert.deepEqual([h[0], h.readUInt32LE(1)], [1, 1]);
  assert.equal(v.pack.mutations.length, 4);
  for (const m of v.pack.mutations) assert.equal((await packPlaintexts(applyEdits(bytes, m.edits), m.otherKey)).expect, m.expect, m.name);
});

test('write-only.json: the version 2 key file opens to the bundle with its password; its mutations give their named outcomes', async () => {
  const c = await fixedCredential();
  assert.equal(encodeCredential(c).toString(), v.keyFile.bundle);
  assert.deepEqual(decodeCredential(Buffer.from(v.keyFile.bundle), 'bundle'), c);
  assert.equal(await keyFileOutcome(v.keyFile.text, v.inputs.password, c), 'ok');
  assert.equal(v.keyFile.mutations.length, 5);
  for (const m of v.keyFile.mutations) assert.equal(await keyFileOutcome(mutateKeyFile(v.keyFile.text, m), m.password ?? v.inputs.password, c), m.expect, m.name);
});
