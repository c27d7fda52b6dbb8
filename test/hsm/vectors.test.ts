// RFC 3394 / RFC 5649 known answers, computed by the token with an imported KEK.
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { ck } from '../../src/hsm/pkcs11/module.js';
import type { Handle } from '../../src/hsm/pkcs11/module.js';
import { softhsm } from './softhsm.js';

interface Vector { name: string; kek: string; data: string; wrapped: string }
const load = (f: string) => (JSON.parse(readFileSync(new URL(`../../../test/hsm/vectors/${f}`, import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors;
const rfc3394 = load('rfc3394.json');
const rfc5649 = load('rfc5649.json');

const env = softhsm(['t']);
let hsm: Pkcs11Hsm;
before(async () => { hsm = await Pkcs11Hsm.open(env.config('t')); });
after(async () => { await hsm.close(); env.cleanup(); });

const secret = (keyType: number, value: Buffer, extra: { type: number; value: boolean }[]) => hsm.token.create([
  { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY }, { type: ck.CKA_KEY_TYPE, value: keyType },
  { type: ck.CKA_VALUE, value }, { type: ck.CKA_TOKEN, value: false }, ...extra,
], 'test import');
const importKek = (hex: string) => secret(ck.CKK_AES, Buffer.from(hex, 'hex'), [{ type: ck.CKA_WRAP, value: true }, { type: ck.CKA_UNWRAP, value: true }]);
const importData = (hex: string) => secret(ck.CKK_GENERIC_SECRET, Buffer.from(hex, 'hex'), [{ type: ck.CKA_EXTRACTABLE, value: true }]);
const wrapWith = (mechanism: number, kek: Handle, key: Handle) => hsm.token.p11.C_WrapKey(hsm.token.session, { mechanism }, kek, key, Buffer.alloc(128));
const unwrapWith = (mechanism: number, kek: Handle, blob: Buffer) => hsm.token.takeValue(hsm.token.p11.C_UnwrapKey(hsm.token.session, { mechanism }, kek, blob, [
  { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY }, { type: ck.CKA_KEY_TYPE, value: ck.CKK_GENERIC_SECRET },
  { type: ck.CKA_TOKEN, value: false }, { type: ck.CKA_SENSITIVE, value: false }, { type: ck.CKA_EXTRACTABLE, value: true },
]));

test('CKM_AES_KEY_WRAP reproduces all six RFC 3394 vectors', () => {
  assert.equal(rfc3394.length, 6);
  for (const v of rfc3394) {
    const kek = importKek(v.kek);
    assert.equal(wrapWith(ck.CKM_AES_KEY_WRAP, kek, importData(v.data)).toString('hex'), v.wrapped.toLowerCase(), v.name);
    assert.equal(unwrapWith(ck.CKM_AES_KEY_WRAP, kek, Buffer.from(v.wrapped, 'hex')).toString('hex'), v.data.toLowerCase(), v.name);
  }
});

test('SoftHSM 2.6 CKM_AES_KEY_WRAP_PAD is not RFC 5649 when the length is not a multiple of 8', () => {
  assert.equal(rfc5649.length, 2);
  for (const v of rfc5649) {
    const kek = importKek(v.kek);
    const out = wrapWith(ck.CKM_AES_KEY_WRAP_PAD, kek, importData(v.data));
    assert.notEqual(out.toString('hex'), v.wrapped, v.name);
    // What it does instead: zero-pads the key to whole blocks first and wraps that by
    // RFC 5649, so the length indicator says the padded length and unwrap returns the padding.
    const padded = Buffer.concat([Buffer.from(v.data, 'hex'), Buffer.alloc((8 - (v.data.length / 2) % 8) % 8)]);
    assert.deepEqual(out, rfc5649Wrap(v.kek, padded), v.name);
    assert.deepEqual(unwrapWith(ck.CKM_AES_KEY_WRAP_PAD, kek, out), padded, v.name);
  }
});

test('for whole 8-byte blocks, CKM_AES_KEY_WRAP_PAD agrees with node:crypto RFC 5649', () => {
  const kekHex = rfc5649[0]!.kek;
  const data = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  assert.deepEqual(wrapWith(ck.CKM_AES_KEY_WRAP_PAD, importKek(kekHex), importData(data.toString('hex'))), rfc5649Wrap(kekHex, data));
});

test('node:crypto id-aes192-wrap-pad itself matches the RFC 5649 vectors', () => {
  for (const v of rfc5649) assert.equal(rfc5649Wrap(v.kek, Buffer.from(v.data, 'hex')).toString('hex'), v.wrapped, v.name);
});

function rfc5649Wrap(kekHex: string, data: Buffer): Buffer {
  const c = createCipheriv('id-aes192-wrap-pad', Buffer.from(kekHex, 'hex'), Buffer.from('a65959a6', 'hex'));
  return Buffer.concat([c.update(data), c.final()]);
}
