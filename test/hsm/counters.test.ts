/** HSM monotonic counters (hsm/pkcs11/counters.ts): reads always from the token, the cached-handle fast path and its fallbacks, on a real SoftHSM2 token. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Pkcs11Hsm } from '../../src/hsm/index.js';
import { ck } from '../../src/hsm/pkcs11/module.js';
import { APPLICATION, TokenCounters } from '../../src/hsm/pkcs11/counters.js';
import { softhsm, type SoftHsm } from './softhsm.js';

describe('HSM monotonic counters', () => {
  let t: SoftHsm;
  let hsm: Pkcs11Hsm;
  const objects = (id: string) => hsm.token.find([
    { type: ck.CKA_CLASS, value: ck.CKO_DATA },
    { type: ck.CKA_LABEL, value: `${APPLICATION}:${id}` },
  ]).map((h) => Number(hsm.token.attr(h, ck.CKA_VALUE).readBigUInt64BE(0))).sort((a, b) => a - b);
  before(async () => {
    t = softhsm(['c']);
    hsm = await Pkcs11Hsm.open(t.config('c'));
  });
  after(async () => {
    await hsm.close();
    t.cleanup();
  });

  it('advancing from the remembered object keeps exactly one object, holding the newest value', async () => {
    const c = new TokenCounters(hsm.token);
    for (let v = 1; v <= 5; v++) await c.advance('r', v);
    assert.deepEqual(objects('r'), [5]);
    assert.equal(await new TokenCounters(hsm.token).read('r'), 5, 'a restarted vault reads the token, not memory');
  });

  it('an object replaced by another replica: the fast path still advances, the highest value wins, a full advance cleans up', async () => {
    const a = new TokenCounters(hsm.token);
    const b = new TokenCounters(hsm.token);
    await a.advance('s', 1);
    assert.equal(await b.read('s'), 1);
    await b.advance('s', 2); // destroys the object a remembers
    await a.advance('s', 3); // a's remembered handle is gone: nothing thrown
    assert.deepEqual(objects('s'), [2, 3]);
    const fresh = new TokenCounters(hsm.token);
    assert.equal(await fresh.read('s'), 3);
    await fresh.advance('s', 4); // two objects found: the full path removes both old ones
    assert.deepEqual(objects('s'), [4]);
  });

  it('a read sees another replica\'s advance (a cached value would accept a row the host rolled back meanwhile)', async () => {
    const a = new TokenCounters(hsm.token);
    const b = new TokenCounters(hsm.token);
    await a.advance('t', 3);
    assert.equal(await a.read('t'), 3);
    await b.advance('t', 4);
    await b.advance('t', 5);
    assert.equal(await a.read('t'), 5);
    assert.equal((await Pkcs11Hsm.open(t.config('c')).then(async (h) => { try { return await h.counters.read('t'); } finally { await h.close(); } })), 5, 'the Hsm interface serves the same counters');
  });

  it('the counter never goes backwards: advancing to an older value (a replica that lost the race) leaves it', async () => {
    const a = new TokenCounters(hsm.token);
    await a.advance('u', 7);
    const late = new TokenCounters(hsm.token);
    await late.advance('u', 6);
    assert.deepEqual(objects('u'), [7]);
    assert.equal(await late.read('u'), 7);
  });
});
