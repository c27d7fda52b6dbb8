import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { softhsm } from './softhsm.js';

const env = softhsm(['t'], 'slots.mechanisms = CKM_AES_KEY_GEN,CKM_AES_GCM');
after(() => env.cleanup());

test('a token without AES key wrap cannot be opened, and the error names the mechanism', async () => {
  await assert.rejects(Pkcs11Hsm.open(env.config('t')), (e) => isEbakError(e, 'HSM') && e.message.includes('CKM_AES_KEY_WRAP'));
});
