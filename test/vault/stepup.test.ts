/**
 * What a device token alone may not do (issue 12, medium findings): change
 * the policy, revoke other devices; and what no longer exists (per-action
 * allow flags, which were no boundary). Also: refused registrations do not
 * drain the owner's rate bucket.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { VaultError } from '../../src/vault/client/errors.js';
import { K, RECOVERY, lab, type Lab, type Running, refused } from './helpers.js';

describe('vault step-up for dangerous changes', () => {
  let l: Lab;
  let v: Running;
  before(async () => {
    l = await lab();
    v = await l.start();
  });
  after(() => l.cleanup());

  it('a device token alone cannot raise the guess limit, change lockout or revoke the owner\'s devices; a fresh login can', async () => {
    const c = await v.client();
    const owner = await c.register('olga', 'pw', K, RECOVERY, 'owner');
    const thief = (await c.login('olga', 'pw', 'stolen')).session;
    await assert.rejects(c.channel.call('POST', '/v1/policy', { policy: { guess_limit: 100 } }, thief.token), refused('bad_request'), 'no step_up field');
    await assert.rejects(c.setPolicy(thief.token, { guess_limit: 100 }, 'AAAA'), refused('step_up_required'));
    await assert.rejects(c.setPolicy(thief.token, { lockout: 'permanent', guess_limit: 1 }, 'AAAA'), refused('step_up_required'));
    await assert.rejects(c.revoke(thief.token, owner.device_id), refused('step_up_required'));
    // A grant belongs to the device that logged in: the thief cannot use the owner's.
    const grant = await c.stepUp(owner.token, 'olga', 'pw');
    await assert.rejects(c.revoke(thief.token, owner.device_id, grant), refused('step_up_required'));
    assert.equal((await c.setPolicy(owner.token, { guess_limit: 5 }, grant)).guess_limit, 5);
    assert.equal((await c.revoke(owner.token, thief.device_id, grant)).revoked_at !== undefined, true);
    // Revoking one's own device needs no step-up.
    const spare = (await c.login('olga', 'pw', 'spare')).session;
    assert.ok((await c.revoke(spare.token, spare.device_id)).revoked_at);
  });

  it('a step-up with the wrong password gives no grant and is a counted guess', async () => {
    const c = await v.client();
    const s = await c.register('pete', 'pw', K, RECOVERY, 'd');
    await assert.rejects(c.stepUp(s.token, 'pete', 'wrong'), (e) => (e as { code?: string }).code === 'WRONG_KEY' && /9 tries left/.test((e as Error).message));
  });

  it('the per-action allow flags are gone: a policy naming them is refused', async () => {
    const c = await v.client();
    const s = await c.register('ann', 'pw', K, RECOVERY, 'd');
    const grant = await c.stepUp(s.token, 'ann', 'pw');
    await assert.rejects(c.channel.call('POST', '/v1/policy', { policy: { allow: { delete: false } }, step_up: grant }, s.token), refused('bad_request'));
    assert.equal('allow' in s.policy, false);
  });

  it('refused registration attempts for a taken name do not drain the owner\'s account bucket', async () => {
    await opaque.ready;
    const tight = await l.start({ accountRate: { burst: 3, perMinute: 1 } });
    const c = await tight.client();
    await c.register('bob', 'pw', K, RECOVERY, 'd');
    for (let i = 0; i < 12; i++) {
      const request = opaque.client.startRegistration({ password: 'x' }).registrationRequest;
      await assert.rejects(c.channel.call('POST', '/v1/register/start', { account: 'bob', request }), (e) => e instanceof VaultError && ['conflict', 'rate_limited'].includes(e.vaultCode));
    }
    assert.deepEqual((await c.login('bob', 'pw', 'd2')).masterKey, K, 'the owner still logs in (an account bucket of 3, untouched by the 12 refusals)');
  });
});
