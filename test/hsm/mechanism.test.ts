// A token configured without AES-GCM (SoftHSM's slots.mechanisms): the real
// part producing the fault, in its own process because the configuration is
// read once per process at C_Initialize.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { softhsm } from './softhsm.js';

const env = softhsm(['t'], 'slots.mechanisms = CKM_AES_KEY_GEN,CKM_AES_KEY_WRAP');
after(() => env.cleanup());

test('a missing mechanism is named; what the token can do still works', async () => {
  const h = await Pkcs11Hsm.open(env.config('t'));
  try {
    await assert.rejects(h.createRing('enc', 'encrypt'), (e) => isEbakError(e, 'HSM') && e.message.includes('CKM_AES_GCM'));
    await h.createRing('kek', 'wrap');
    assert.deepEqual(await h.unwrap(await h.wrap('kek', Buffer.alloc(32, 5))), Buffer.alloc(32, 5));
  } finally {
    await h.close();
  }
});
