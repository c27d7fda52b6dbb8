/** The vault core over real TLS, SoftHSM2 and SQLite: OPAQUE, guess counter, lockout, key release, sessions. */
import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { isEbakError } from '../../src/errors.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { unwrapMasterKey, wrapMasterKey } from '../../src/vault/envelope.js';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';

describe('vault core', () => {
  let l: Lab;
  let v: Running;
  before(async () => {
    l = await lab();
    v = await l.start({ policy: { guess_limit: 10 } });
  });
  after(() => l.cleanup());

  it('registers, then logs in with the password and gets K back; the vault never holds K in clear', async () => {
    const c = await v.client();
    const reg = await c.register('alice', 'correct horse', K, RECOVERY, 'laptop');
    assert.match(reg.token, /^alice\.[0-9a-f]{32}\./);
    assert.equal(reg.envelope, undefined);
    const { session, masterKey } = await c.login('alice', 'correct horse', 'new-machine');
    assert.deepEqual(masterKey, K);
    assert.ok(session.envelope && !Buffer.from(session.envelope, 'base64url').includes(K));
    const dk = await c.deviceKey(session.token, 'restore');
    assert.equal(dk.device_key, session.device_key);
    const names = (await c.devices(session.token)).map((d) => d.name).sort();
    assert.deepEqual(names, ['laptop', 'new-machine']);
    await assert.rejects(c.register('alice', 'x', K, RECOVERY, 'd'), (e) => e instanceof VaultError && e.vaultCode === 'conflict');
  });

  it('a wrong password names the tries left; a right one resets the counter', async () => {
    const c = await v.client();
    await c.register('bob', 'right', K, RECOVERY, 'd1');
    await assert.rejects(c.login('bob', 'wrong', 'd'), (e) => isEbakError(e, 'WRONG_KEY') && /9 tries left/.test(e.message));
    await c.login('bob', 'right', 'd');
    const raw = await rawStart(v, 'bob');
    assert.equal(raw.tries_left, 9, 'counter was reset by the verified login, then this attempt counted');
  });

  it('50 parallel guesses against a limit of 10: exactly 10 evaluated, 40 refused as locked; unlock by recovery key', async () => {
    const c = await v.client();
    await c.register('carol', 'pw', K, RECOVERY, 'd1');
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => rawStart(v, 'carol')));
    const evaluated = results.filter((r) => r.status === 'fulfilled');
    const locked = results.filter((r) => r.status === 'rejected' && (r.reason as VaultError).vaultCode === 'locked');
    assert.equal(evaluated.length, 10);
    assert.equal(locked.length, 40);
    assert.deepEqual(evaluated.map((r) => (r as PromiseFulfilledResult<{ tries_left: number }>).value.tries_left).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The right password is refused too: no more guesses are evaluated.
    await assert.rejects(c.login('carol', 'pw', 'd'), (e) => e instanceof VaultError && e.vaultCode === 'locked' && e.triesLeft === 0);
    await assert.rejects(c.unlock('carol', RECOVERY.replace(/^1/, '9')), (e) => e instanceof VaultError && e.vaultCode === 'forbidden');
    await c.unlock('carol', RECOVERY);
    assert.equal((await rawStart(v, 'carol')).tries_left, 9);
  });

  it('malformed login requests among valid ones in one burst: each a bad_request, no guess charged, for real and unknown accounts', async () => {
    const c = await v.client();
    await c.register('dora', 'pw', K, RECOVERY, 'd1');
    await opaque.ready;
    const malformed = ['AAAA', Buffer.alloc(96, 0xff).toString('base64url')];
    const send = (account: string, request: string) => c.channel.call<{ tries_left: number }>('POST', '/v1/login/start', { account, request });
    // Sent together, so the vault's OPAQUE threads get them in the same batches (server/opaquepool.ts).
    const results = await Promise.allSettled(['dora', 'nobody'].flatMap((a) => [
      ...Array.from({ length: 3 }, () => send(a, opaque.client.startLogin({ password: 'guess' }).startLoginRequest)), ...malformed.map((m) => send(a, m)),
    ]));
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as VaultError);
    assert.deepEqual(refused.map((e) => e.vaultCode), ['bad_request', 'bad_request', 'bad_request', 'bad_request']);
    assert.ok(refused.every((e) => /not a valid OPAQUE message/.test(e.message)));
    const left = (a: number) => results.slice(a, a + 3).map((r) => (r as PromiseFulfilledResult<{ tries_left: number }>).value.tries_left).sort((x, y) => x - y);
    assert.deepEqual(left(0), [7, 8, 9], 'the three valid starts of dora counted');
    assert.deepEqual(left(5), [7, 8, 9], 'and those of an unknown account, in its bucket');
    assert.equal((await rawStart(v, 'dora')).tries_left, 6, 'the malformed ones charged nothing');
    assert.equal((await rawStart(v, 'nobody')).tries_left, 6);
  });

  it('the counter is durable: a restarted vault on the same state remembers it', async () => {
    const c = await v.client();
    await c.register('dave', 'pw', K, RECOVERY, 'd1');
    await rawStart(v, 'dave');
    await rawStart(v, 'dave');
    await v.stop();
    v = await l.start({ policy: { guess_limit: 10 } });
    assert.equal((await rawStart(v, 'dave')).tries_left, 7);
  });

  it('revocation takes effect at once; a token works only for its own device and account', async () => {
    const c = await v.client();
    const a = await c.register('erin', 'pw', K, RECOVERY, 'phone');
    const b = (await c.login('erin', 'pw', 'desk')).session;
    await c.revoke(b.token, a.device_id, await c.stepUp(b.token, 'erin', 'pw'));
    await assert.rejects(c.deviceKey(a.token, 'read'), (e) => e instanceof VaultError && e.vaultCode === 'unauthorized' && /revoked/.test(e.message));
    const forged = a.token.replace(/\.[^.]+$/, `.${'A'.repeat(43)}`);
    await assert.rejects(c.deviceKey(forged, 'read'), (e) => e instanceof VaultError && e.vaultCode === 'unauthorized');
    assert.ok((await c.devices(b.token)).find((d) => d.id === a.device_id)?.revoked_at);
  });

  it('every key release is audited with the action the device names, and tokens expire', async () => {
    let offset = 0;
    const clock = () => new Date(Date.now() + offset);
    await v.stop();
    v = await l.start({ now: clock, policy: { session_seconds: 3600 } });
    const c = await v.client();
    const s = await c.register('fred', 'pw', K, RECOVERY, 'd');
    await c.deviceKey(s.token, 'delete');
    await c.deviceKey(s.token, 'backup');
    const released = (await c.audit(s.token) as { type: string; detail: { action?: string } }[]).filter((e) => e.type === 'key.release').map((e) => e.detail.action);
    assert.deepEqual(released, ['delete', 'backup']);
    offset = 3601_000;
    await assert.rejects(c.deviceKey(s.token, 'backup'), (e) => e instanceof VaultError && e.vaultCode === 'unauthorized' && /expired/.test(e.message));
  });

  it('envelope v1 known answer (docs/vault.md)', () => {
    const exportKey = Buffer.alloc(64, 1);
    const env = wrapMasterKey('vault', exportKey, 'alice', Buffer.alloc(32, 2), Buffer.alloc(12, 3));
    assert.equal(env, ENVELOPE_VECTOR);
    assert.equal(independentEnvelope(), ENVELOPE_VECTOR);
    assert.deepEqual(unwrapMasterKey('vault', exportKey, 'alice', env), Buffer.alloc(32, 2));
    assert.equal(unwrapMasterKey('vault', exportKey, 'mallory', env), undefined);
    assert.equal(unwrapMasterKey('vault', Buffer.alloc(64, 9), 'alice', env), undefined);
  });
});

const ENVELOPE_VECTOR = 'AQMDAwMDAwMDAwMDA0FyjY7aLoe53vs93NkT0kmAAM9dxdrrYzMPcK28ZK2HXNRLVRCC8GWlI4TBiTGk8w';

/** The same envelope computed with node:crypto alone, from the documented construction. */
function independentEnvelope(): string {
  const kek = Buffer.from(hkdfSync('sha256', Buffer.alloc(64, 1), Buffer.alloc(0), 'ebak/v1/vault-envelope', 32));
  const c = createCipheriv('aes-256-gcm', kek, Buffer.alloc(12, 3));
  c.setAAD(Buffer.from('ebak/vault-envelope/v1\0alice'));
  const ct = Buffer.concat([c.update(Buffer.alloc(32, 2)), c.final(), c.getAuthTag()]);
  return Buffer.concat([Buffer.of(1), Buffer.alloc(12, 3), ct]).toString('base64url');
}

/** A login start only (no client finish: cheap), as a guesser would send it. */
async function rawStart(v: Running, account: string): Promise<{ tries_left: number }> {
  await opaque.ready;
  const c = await v.client();
  const start = opaque.client.startLogin({ password: 'guess' });
  return c.channel.call('POST', '/v1/login/start', { account, request: start.startLoginRequest });
}
