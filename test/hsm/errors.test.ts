import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { MODULE, PIN, softhsm } from './softhsm.js';

const env = softhsm(['t']);
after(() => env.cleanup());

const hsmError = (e: unknown) => isEbakError(e, 'HSM') && !e.message.includes('\n');

test('wrong PIN', async () => {
  await assert.rejects(Pkcs11Hsm.open({ module: MODULE, token: 't', pin: '9999' }), hsmError);
});

test('missing token', async () => {
  await assert.rejects(Pkcs11Hsm.open({ module: MODULE, token: 'nope', pin: PIN }), hsmError);
});

test('missing module library', async () => {
  await assert.rejects(Pkcs11Hsm.open({ module: '/nonexistent/libpkcs11.so', token: 't', pin: PIN }), hsmError);
});

test('a file that is not a PKCS#11 library', async () => {
  await assert.rejects(Pkcs11Hsm.open({ module: '/etc/hostname', token: 't', pin: PIN }), hsmError);
});

test('after failures, the right PIN still opens (the module was released cleanly)', async () => {
  const h = await Pkcs11Hsm.open({ module: MODULE, token: 't', pin: PIN });
  await h.close();
});
