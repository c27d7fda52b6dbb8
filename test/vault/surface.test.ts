/**
 * The vault's public surface (issue 12, low findings): registration needs
 * the operator's invitation and has a quota; unknown accounts get fake login
 * answers; status without counts; operator-only reads; rate limits on every
 * endpoint; 0600 state files; paged audit; TLS renewal the clients follow;
 * a connection cap.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { statSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { createInvitation } from '../../src/vault/operator.js';
import { K, RECOVERY, lab, type Lab, type Running, refused } from './helpers.js';

const operator = generateKeyPairSync('ed25519');

describe('vault surface', () => {
  let l: Lab;
  let v: Running;
  before(async () => {
    await opaque.ready;
    l = await lab();
    v = await l.start({ registration: 'invite', operatorKey: operator.publicKey, maxAccounts: 3 });
  });
  after(() => l.cleanup());

  it('registration needs a signed, unexpired, unused invitation; the account quota holds', async () => {
    const c = await v.client();
    await assert.rejects(c.register('a1', 'pw', K, RECOVERY, 'd'), refused('forbidden'));
    const other = generateKeyPairSync('ed25519').privateKey;
    await assert.rejects(c.register('a1', 'pw', K, RECOVERY, 'd', createInvitation(other, 1, Date.now() + 60_000)), refused('forbidden'));
    await assert.rejects(c.register('a1', 'pw', K, RECOVERY, 'd', createInvitation(operator.privateKey, 1, Date.now() - 1)), refused('forbidden'));
    const once = createInvitation(operator.privateKey, 1, Date.now() + 60_000);
    await c.register('a1', 'pw', K, RECOVERY, 'd', once);
    await assert.rejects(c.register('a2', 'pw', K, RECOVERY, 'd', once), refused('forbidden'), 'used up');
    const many = createInvitation(operator.privateKey, 10, Date.now() + 60_000);
    await c.register('a2', 'pw', K, RECOVERY, 'd', many);
    await c.register('a3', 'pw', K, RECOVERY, 'd', many);
    await assert.rejects(c.register('a4', 'pw', K, RECOVERY, 'd', many), refused('quota'));
  });

  it('an unknown account gets a fake login answer that counts down like a real one and never verifies', async () => {
    const c = await v.client();
    const start = (account: string) => c.channel.call<{ login_id: string; response: string; tries_left: number }>('POST', '/v1/login/start', { account, request: opaque.client.startLogin({ password: 'guess' }).startLoginRequest });
    const real = await start('a1');
    const fake = await start('nobody');
    assert.equal(fake.response.length, real.response.length);
    assert.equal(fake.tries_left, real.tries_left);
    assert.equal((await start('nobody')).tries_left, fake.tries_left - 1);
    await assert.rejects(c.channel.call('POST', '/v1/login/finish', { login_id: fake.login_id, request: 'AAAA', device: 'd' }), refused('login_failed'));
  });

  it('/v1/status shows no counts; the operator\'s signed request does', async () => {
    const c = await v.client();
    const s = await c.status() as unknown as Record<string, unknown>;
    assert.equal('accounts' in s || 'audit_seq' in s, false);
    await assert.rejects(c.channel.call('GET', '/v1/operator/status'), refused('unauthorized'));
    await assert.rejects(c.operatorStatus(generateKeyPairSync('ed25519').privateKey), refused('unauthorized'));
    const o = await c.operatorStatus(operator.privateKey);
    assert.equal(o.accounts, 3);
    assert.ok(o.audit_seq > 3);
    assert.equal(o.registration, 'invite');
  });

  it('state files are 0600', () => {
    for (const f of ['state.db', 'state.db-wal', 'state.db-shm']) assert.equal(statSync(join(l.dir, f)).mode & 0o777, 0o600, f);
  });

  it('an account\'s audit events come in pages', async () => {
    const c = await v.client();
    const s = (await c.login('a2', 'pw', 'd2')).session;
    for (let i = 0; i < 3; i++) await c.deviceKey(s.token, 'backup');
    const page = await c.channel.call<{ entries: { seq: number }[]; next?: number }>('GET', '/v1/audit?after=0&limit=2', undefined, s.token);
    assert.equal(page.entries.length, 2);
    assert.ok(page.next !== undefined);
    const all = await c.audit(s.token) as { seq: number; account: string }[];
    assert.ok(all.length >= 6);
    assert.ok(all.every((e) => e.account === 'a2'));
    assert.deepEqual(all.map((e) => e.seq), [...all.map((e) => e.seq)].sort((a, b) => a - b));
    await assert.rejects(c.channel.call('GET', '/v1/audit?after=x', undefined, s.token), refused('bad_request'));
  });
});

describe('vault limits and TLS renewal', () => {
  let l: Lab;
  before(async () => {
    l = await lab();
  });
  after(() => l.cleanup());

  it('every endpoint is rate limited per address, attestation and status included', async () => {
    const v = await l.start({ addressRate: { burst: 4, perMinute: 1 } });
    const c = await v.client(); // one attestation request
    await c.status();
    await c.status();
    await c.status();
    await assert.rejects(c.status(), refused('rate_limited'));
    const r = await c.channel.requestRaw('GET', '/v1/attestation?nonce=00112233445566778899aabbccddeeff');
    assert.equal(r.status, 429);
    await v.stop();
  });

  it('the vault renews its TLS key before the certificate expires; a connected client re-attests and goes on', async () => {
    const v = await l.start({ tlsLifetimeSeconds: 3 });
    const c = await v.client();
    const first = v.tlsSpki();
    await sleep(3_500);
    assert.notDeepEqual(v.tlsSpki(), first, 'renewed');
    c.channel.close(); // no kept-alive connection with the old key left
    await c.status();
    assert.equal(c.channel.attestations, 2);
    await v.stop();
  });

  it('connections beyond the cap are refused at accept', async () => {
    const v = await l.start({ maxConnections: 2 });
    const open = () => new Promise<'open' | 'closed'>((resolve) => {
      const s = connect({ host: '127.0.0.1', port: v.port, rejectUnauthorized: false });
      s.once('secureConnect', () => resolve('open'));
      s.once('error', () => resolve('closed'));
      s.once('close', () => resolve('closed'));
      sockets.push(s);
    });
    const sockets: ReturnType<typeof connect>[] = [];
    assert.deepEqual([await open(), await open(), await open()], ['open', 'open', 'closed']);
    for (const s of sockets) s.destroy();
    await v.stop();
  });
});

// A lab of its own: the rate buckets live in the vault's store, which the tests above drain.
describe('vault rate limits, waited out', () => {
  let l: Lab;
  before(async () => {
    l = await lab();
  });
  after(() => l.cleanup());

  it("a client with patience waits out the vault's retry_after (the CLI's do); without, or past its budget, the refusal is the caller's", async () => {
    const v = await l.start({ addressRate: { burst: 3, perMinute: 60 } });
    // Three attestation requests empty the bucket; it refills one request a second.
    const [none, ample, brief] = [await v.client(), await v.client({ rateLimitWaitMs: 10_000 }), await v.client({ rateLimitWaitMs: 2_500 })];
    await assert.rejects(none.status(), refused('rate_limited'));
    for (let i = 0; i < 4; i++) await ample.status();
    await assert.rejects(async () => {
      for (let i = 0; i < 5; i++) await brief.status();
    }, refused('rate_limited'));
    await v.stop();
  });
});
