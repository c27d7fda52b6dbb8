import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { parseBlob } from '../../src/hsm/blob.js';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { ck, ckr } from '../../src/hsm/pkcs11/module.js';
import { keyLabel } from '../../src/hsm/pkcs11/token.js';
import { softhsm } from './softhsm.js';

const env = softhsm(['t']);
let hsm: Pkcs11Hsm;

before(async () => {
  hsm = await Pkcs11Hsm.open(env.config('t'));
  await hsm.createRing('kek', 'wrap');
  await hsm.createRing('enc', 'encrypt');
});
after(async () => {
  await hsm.close();
  env.cleanup();
});

const code = (c: string) => (e: unknown) => isEbakError(e) && e.code === c;

test('a KEK is generated inside the token and its value cannot be read', () => {
  const h = hsm.token.findKey(keyLabel('kek', 1))!;
  const a = (type: number) => hsm.token.attr(h, type);
  assert.equal(a(ck.CKA_SENSITIVE)[0], 1);
  assert.equal(a(ck.CKA_WRAP_WITH_TRUSTED)[0], 1);
  assert.equal(a(ck.CKA_VALUE_LEN).readUInt32LE(0), 32);
  assert.throws(() => a(ck.CKA_VALUE), (e) => ckr(e) === ck.CKR_ATTRIBUTE_SENSITIVE);
});

test('a KEK cannot be exported under a key the caller made (only under a trusted key)', () => {
  const mine = hsm.token.create([
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_VALUE, value: Buffer.alloc(32, 9) },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_WRAP, value: true },
  ], 'test key');
  const kek = hsm.token.findKey(keyLabel('kek', 1))!;
  assert.throws(
    () => hsm.token.p11.C_WrapKey(hsm.token.session, { mechanism: ck.CKM_AES_KEY_WRAP }, mine, kek, Buffer.alloc(64)),
    (e) => ckr(e) === ck.CKR_KEY_NOT_WRAPPABLE,
  );
  hsm.token.destroy(mine);
});

test('wrap then unwrap returns the secret; the blob names ring and version', async () => {
  const secret = Buffer.from('00112233445566778899aabbccddeeff0123456789abcdef0011223344556677', 'hex');
  const blob = await hsm.wrap('kek', secret);
  const p = parseBlob(blob);
  assert.deepEqual([p.kind, p.ring, p.version, p.body.length], [1, 'kek', 1, 40]);
  assert.deepEqual(await hsm.unwrap(blob), secret);
});

test('a tampered wrapped blob fails authentication', async () => {
  const blob = Buffer.from(await hsm.wrap('kek', Buffer.alloc(32, 1)));
  blob[blob.length - 3]! ^= 1;
  await assert.rejects(hsm.unwrap(blob), code('AUTH_FAILED'));
});

test('secrets AES key wrap cannot carry are refused', async () => {
  await assert.rejects(hsm.wrap('kek', Buffer.alloc(20)), code('USAGE'));
  await assert.rejects(hsm.wrap('kek', Buffer.alloc(8)), code('USAGE'));
});

test('AES-GCM inside the token binds the AAD', async () => {
  const pt = Buffer.from('sealed vault record');
  const ct = await hsm.encrypt('enc', pt, Buffer.from('rec-1/v3'));
  assert.equal(ct.length, 9 + 3 + 12 + pt.length + 16);
  assert.deepEqual(await hsm.decrypt(ct, Buffer.from('rec-1/v3')), pt);
  await assert.rejects(hsm.decrypt(ct, Buffer.from('rec-1/v4')), code('AUTH_FAILED'));
  const bad = Buffer.from(ct);
  bad[20]! ^= 1;
  await assert.rejects(hsm.decrypt(bad, Buffer.from('rec-1/v3')), code('AUTH_FAILED'));
});

test('a ring is used only for its purpose', async () => {
  await assert.rejects(hsm.encrypt('kek', Buffer.from('x')), code('USAGE'));
  await assert.rejects(hsm.wrap('enc', Buffer.alloc(32)), code('USAGE'));
  // And the token agrees: the encrypt key has no CKA_WRAP.
  const h = hsm.token.findKey(keyLabel('enc', 1))!;
  assert.equal(hsm.token.attr(h, ck.CKA_WRAP)[0], 0);
});

test('keys() lists versions with validity; metadata survives reopening', async () => {
  const again = await Pkcs11Hsm.open(env.config('t'));
  try {
    const keys = await again.keys();
    assert.deepEqual(keys.map((k) => [k.ring, k.version, k.purpose, k.state, k.current]), [
      ['enc', 1, 'encrypt', 'active', true],
      ['kek', 1, 'wrap', 'active', true],
    ]);
    assert.ok(keys[0]!.notAfter > keys[0]!.notBefore);
  } finally {
    await again.close();
  }
});

test('creating an existing ring is refused', async () => {
  await assert.rejects(hsm.createRing('kek', 'wrap'), code('ALREADY_EXISTS'));
  await assert.rejects(hsm.createRing('Bad Name', 'wrap'), code('USAGE'));
});
