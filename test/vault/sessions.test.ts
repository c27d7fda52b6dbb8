/**
 * PKCS#11 off the event loop (hsm/pkcs11/pool.ts): with every token call in
 * the vault's session pool made slow (a delay in front of the real token, in
 * the worker thread), login starts wait for the HSM while a new client's TLS
 * handshake, attestation and an unrelated request are answered at once.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';

const DELAY = 800;

describe('a slow HSM does not stall the vault', () => {
  let l: Lab;
  let v: Running;
  before(async () => {
    await opaque.ready;
    l = await lab();
    v = await l.start({ hsmSessions: { size: 2, delayMs: DELAY } });
    await (await v.client()).register('sol', 'pw', K, RECOVERY, 'd');
  });
  after(async () => {
    await l.cleanup();
  });

  it('an unrelated request (new TLS connection and attestation included) is answered while login starts wait on the token', async () => {
    const c = await v.client();
    const t0 = performance.now();
    const starts = Promise.all([1, 2, 3].map(() => c.channel.call('POST', '/v1/login/start', { account: 'sol', request: opaque.client.startLogin({ password: 'x' }).startLoginRequest })
      .then(() => performance.now() - t0)));
    await new Promise((r) => setTimeout(r, 50));
    const t1 = performance.now();
    const other = await v.client();
    await other.status();
    const unrelated = performance.now() - t1;
    const slow = await starts;
    assert.ok(Math.min(...slow) >= DELAY, `login starts took ${slow.map((x) => x.toFixed(0)).join(', ')} ms with a ${DELAY} ms token`);
    assert.ok(unrelated < DELAY / 2, `the unrelated client connected, attested and was answered in ${unrelated.toFixed(0)} ms`);
  });
});
