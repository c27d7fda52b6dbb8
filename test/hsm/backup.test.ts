import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { installClusterKey } from '../../src/hsm/backup.js';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { ck, ckr } from '../../src/hsm/pkcs11/module.js';
import { KBK_LABEL } from '../../src/hsm/pkcs11/token.js';
import { MODULE, SO_PIN, softhsm } from './softhsm.js';

const env = softhsm(['src', 'dst', 'dst2', 'lonely']);
const code = (c: string) => (e: unknown) => isEbakError(e) && e.code === c;
const SECRET = Buffer.from('6a0b1c2d3e4f5061728394a5b6c7d8e9fa0b1c2d3e4f5061728394a5b6c7d8e9', 'hex');
let file: Buffer;
let blobs: { old: Uint8Array; current: Uint8Array; ct: Uint8Array };

before(async () => {
  const kbk = randomBytes(32);
  for (const token of ['src', 'dst', 'dst2']) await installClusterKey({ module: MODULE, token, soPin: SO_PIN }, kbk);
  kbk.fill(0);
  const src = await Pkcs11Hsm.open(env.config('src'));
  try {
    await src.createRing('kek', 'wrap');
    const old = await src.wrap('kek', SECRET);
    await src.rotate('kek');
    blobs = { old, current: await src.wrap('kek', SECRET), ct: new Uint8Array() };
    await src.createRing('enc', 'encrypt');
    blobs.ct = await src.encrypt('enc', Buffer.from('record'), Buffer.from('aad'));
    await src.createRing('gone', 'wrap');
    await src.revoke('gone', 1, 'test');
    await src.rotate('gone');
    await src.destroy('gone', 2);
    file = Buffer.from(await src.backup());
  } finally {
    await src.close();
  }
});
after(() => env.cleanup());

test('the cluster KBK is trusted, sensitive and not extractable', async () => {
  const h = await Pkcs11Hsm.open(env.config('dst2'));
  try {
    const k = h.token.findKey(KBK_LABEL)!;
    assert.deepEqual([ck.CKA_TRUSTED, ck.CKA_SENSITIVE, ck.CKA_EXTRACTABLE].map((t) => h.token.attr(k, t)[0]), [1, 1, 0]);
    assert.throws(() => h.token.attr(k, ck.CKA_VALUE), (e) => ckr(e) === ck.CKR_ATTRIBUTE_SENSITIVE);
  } finally {
    await h.close();
  }
});

test('restore onto a fresh token reproduces every key; old blobs open there', async () => {
  const dst = await Pkcs11Hsm.open(env.config('dst'));
  try {
    const report = await dst.restore(file);
    const strip = (k: { ring: string; version: number; state: string; current: boolean; notAfter: Date }) => [k.ring, k.version, k.state, k.current, k.notAfter.toISOString()];
    const src = await Pkcs11Hsm.open(env.config('src'));
    const srcKeys = await src.keys();
    await src.close();
    assert.deepEqual((await dst.keys()).map(strip), srcKeys.map(strip));
    assert.equal(report.restored.length, 5);
    assert.deepEqual(await dst.unwrap(blobs.old), SECRET);
    assert.deepEqual(await dst.unwrap(blobs.current), SECRET);
    assert.deepEqual(await dst.decrypt(blobs.ct, Buffer.from('aad')), Buffer.from('record'));
    await assert.rejects(dst.wrap('gone', SECRET), code('HSM'));
    // Restored keys keep their protections, and older versions stay unwrap-only in the token.
    const v1 = dst.token.findKey('ebak:kek:v1')!;
    assert.deepEqual([ck.CKA_SENSITIVE, ck.CKA_WRAP_WITH_TRUSTED, ck.CKA_WRAP, ck.CKA_UNWRAP].map((t) => dst.token.attr(v1, t)[0]), [1, 1, 0, 1]);
    await assert.rejects(dst.restore(file), code('ALREADY_EXISTS'));
  } finally {
    await dst.close();
  }
});

test('a tampered byte anywhere makes the restore refuse and leaves the token untouched', async () => {
  const dst = await Pkcs11Hsm.open(env.config('dst2'));
  try {
    const positions = [0, 4, 6, 30, 40, 60, file.length - 40, file.length - 17, file.length - 1];
    for (const at of positions) {
      const bad = Buffer.from(file);
      bad[at]! ^= 0x01;
      await assert.rejects(dst.restore(bad), (e) => isEbakError(e) && ['AUTH_FAILED', 'CORRUPT', 'UNSUPPORTED_VERSION'].includes(e.code), `byte ${at}`);
    }
    await assert.rejects(dst.restore(file.subarray(0, file.length - 1)), code('AUTH_FAILED'));
    assert.deepEqual(await dst.keys(), []);
  } finally {
    await dst.close();
  }
});

test('a token outside the cluster cannot restore', async () => {
  const h = await Pkcs11Hsm.open(env.config('lonely'));
  try {
    await assert.rejects(h.restore(file), code('HSM'));
    await assert.rejects(h.backup(), code('HSM'));
  } finally {
    await h.close();
  }
});

test('installing a second cluster key, or with a wrong SO PIN, is refused', async () => {
  await assert.rejects(installClusterKey({ module: MODULE, token: 'src', soPin: SO_PIN }, randomBytes(32)), code('ALREADY_EXISTS'));
  await assert.rejects(installClusterKey({ module: MODULE, token: 'lonely', soPin: '0000' }, randomBytes(32)), code('HSM'));
});
