import assert from 'node:assert/strict';
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { BLOB_KIND, encodeBlob, parseBlob } from '../../src/hsm/blob.js';
import type { KeyWrapper } from '../../src/hsm/hsm.js';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { ck } from '../../src/hsm/pkcs11/module.js';
import { encodeRecordAad, seal, unseal } from '../../src/hsm/seal.js';
import { softhsm } from './softhsm.js';

const vector = JSON.parse(readFileSync(new URL('../../../test/hsm/vectors/sealed-record.json', import.meta.url), 'utf8')) as {
  kek: string; ring: string; kekVersion: number; dataKey: string; iv: string; record: string; id: string; version: number; sealed: string;
};
const env = softhsm(['t']);
let hsm: Pkcs11Hsm;
before(async () => {
  hsm = await Pkcs11Hsm.open(env.config('t'));
  await hsm.createRing('vault', 'wrap');
});
after(async () => { await hsm.close(); env.cleanup(); });

const code = (c: string) => (e: unknown) => isEbakError(e) && e.code === c;

test('seal / unseal round trip; a different record id or version is refused', async () => {
  const record = Buffer.from('{"user":"alice","guesses":3}');
  const sealed = await seal(hsm, 'vault', record, { id: 'user/alice', version: 4 });
  assert.deepEqual(await unseal(hsm, sealed, { id: 'user/alice', version: 4 }), record);
  await assert.rejects(unseal(hsm, sealed, { id: 'user/alice', version: 3 }), code('AUTH_FAILED'));
  await assert.rejects(unseal(hsm, sealed, { id: 'user/bob', version: 4 }), code('AUTH_FAILED'));
  for (const at of [4, 10, sealed.length - 20, sealed.length - 1]) {
    const bad = Buffer.from(sealed);
    bad[at]! ^= 1;
    await assert.rejects(unseal(hsm, bad, { id: 'user/alice', version: 4 }), (e) => isEbakError(e) && ['AUTH_FAILED', 'UNSUPPORTED_VERSION', 'CORRUPT', 'HSM'].includes(e.code), `byte ${at}`);
  }
});

test('each record gets its own data key', async () => {
  const a = await seal(hsm, 'vault', Buffer.from('x'), { id: 'r', version: 1 });
  const b = await seal(hsm, 'vault', Buffer.from('x'), { id: 'r', version: 1 });
  assert.notDeepEqual(a.subarray(7, 7 + 52), b.subarray(7, 7 + 52));
});

test('records sealed before a rotation unseal after it', async () => {
  const sealed = await seal(hsm, 'vault', Buffer.from('before'), { id: 'r', version: 1 });
  await hsm.rotate('vault');
  assert.deepEqual(await unseal(hsm, sealed, { id: 'r', version: 1 }), Buffer.from('before'));
});

test('the documented sealed-record vector (token wraps under an imported KEK)', async () => {
  // A KeyWrapper over the same token, with the vector's known KEK imported as a session key.
  const kek = hsm.token.create([
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY }, { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_VALUE, value: Buffer.from(vector.kek, 'hex') }, { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_WRAP, value: true }, { type: ck.CKA_UNWRAP, value: true },
  ], 'vector KEK');
  const known: KeyWrapper = {
    wrap: async (ring, secret) => {
      const obj = hsm.token.importSecret(secret);
      try {
        return encodeBlob({ kind: BLOB_KIND.wrap, ring, version: vector.kekVersion }, hsm.token.wrap(kek, obj, 'vector wrap'));
      } finally {
        hsm.token.destroy(obj);
      }
    },
    unwrap: async (blob) => hsm.token.takeValue(hsm.token.unwrapTransient(kek, parseBlob(blob).body, true)),
  };
  const draws = [Buffer.from(vector.dataKey, 'hex'), Buffer.from(vector.iv, 'hex')];
  const aad = { id: vector.id, version: vector.version };
  const sealed = await seal(known, vector.ring, Buffer.from(vector.record, 'utf8'), aad, { random: () => Buffer.from(draws.shift()!) });
  assert.equal(sealed.toString('hex'), vector.sealed);
  assert.equal((await unseal(known, Buffer.from(vector.sealed, 'hex'), aad)).toString('utf8'), vector.record);
  // Independent check with node:crypto alone (RFC 3394 unwrap, then GCM).
  const v = Buffer.from(vector.sealed, 'hex');
  const w = v.readUInt16BE(5);
  const kw = createDecipheriv('id-aes256-wrap', Buffer.from(vector.kek, 'hex'), Buffer.from('a6a6a6a6a6a6a6a6', 'hex'));
  const dk = Buffer.concat([kw.update(parseBlob(v.subarray(7, 7 + w)).body), kw.final()]);
  assert.equal(dk.toString('hex'), vector.dataKey);
  const g = createDecipheriv('aes-256-gcm', dk, v.subarray(7 + w, 19 + w));
  g.setAAD(Buffer.concat([v.subarray(0, 7 + w), encodeRecordAad(aad)]));
  g.setAuthTag(v.subarray(v.length - 16));
  assert.equal(Buffer.concat([g.update(v.subarray(19 + w, v.length - 16)), g.final()]).toString('utf8'), vector.record);
  hsm.token.destroy(kek);
});

test('sealed record v2: bound to a 32-byte key; the HSM alone opens nothing, and a v1 record is refused where a binding is required', async () => {
  const bind = Buffer.alloc(32, 9);
  const sealed = await seal(hsm, 'vault', Buffer.from('secret'), { id: 'r', version: 2 }, { bind });
  assert.equal(sealed[4], 2);
  assert.deepEqual(await unseal(hsm, sealed, { id: 'r', version: 2 }, { bind }), Buffer.from('secret'));
  await assert.rejects(unseal(hsm, sealed, { id: 'r', version: 2 }), code('AUTH_FAILED'));
  await assert.rejects(unseal(hsm, sealed, { id: 'r', version: 2 }, { bind: Buffer.alloc(32, 8) }), code('AUTH_FAILED'));
  const v1 = await seal(hsm, 'vault', Buffer.from('forged by a PIN holder'), { id: 'r', version: 2 });
  await assert.rejects(unseal(hsm, v1, { id: 'r', version: 2 }, { bind }), code('AUTH_FAILED'));
});

test('the documented sealed-record v2 vector, recomputed with node:crypto alone (HKDF, then GCM)', async () => {
  const v2 = JSON.parse(readFileSync(new URL('../../../test/hsm/vectors/sealed-record-v2.json', import.meta.url), 'utf8')) as typeof vector & { bind: string };
  const s = Buffer.from(v2.sealed, 'hex');
  const w = s.readUInt16BE(5);
  assert.equal(s[4], 2);
  assert.deepEqual(s.subarray(7, 7 + w), Buffer.from(vector.sealed, 'hex').subarray(7, 7 + w), 'the same wrapped data key as the v1 vector');
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(v2.dataKey, 'hex'), Buffer.from(v2.bind, 'hex'), 'ebak/v1/sealed-record-v2', 32));
  const aad = { id: v2.id, version: v2.version };
  const g = createDecipheriv('aes-256-gcm', key, s.subarray(7 + w, 19 + w));
  g.setAAD(Buffer.concat([s.subarray(0, 7 + w), encodeRecordAad(aad)]));
  g.setAuthTag(s.subarray(s.length - 16));
  assert.equal(Buffer.concat([g.update(s.subarray(19 + w, s.length - 16)), g.final()]).toString('utf8'), v2.record);
  // The implementation produces the same bytes from the same draws, through a wrapper that returns the vector's wrapped key.
  const wrapped = s.subarray(7, 7 + w);
  const fixed: KeyWrapper = { wrap: async () => wrapped, unwrap: async () => Buffer.from(v2.dataKey, 'hex') };
  const draws = [Buffer.from(v2.dataKey, 'hex'), Buffer.from(v2.iv, 'hex')];
  const sealed = await seal(fixed, 'vault', Buffer.from(v2.record, 'utf8'), aad, { bind: Buffer.from(v2.bind, 'hex'), random: () => Buffer.from(draws.shift()!) });
  assert.equal(sealed.toString('hex'), v2.sealed);
  assert.equal((await unseal(fixed, s, aad, { bind: Buffer.from(v2.bind, 'hex') })).toString('utf8'), v2.record);
});
