/**
 * One batch per login start (issue 19): the guess counter's write and its
 * `login.attempt` audit entry are made durable together, in one store
 * transaction and one HSM register write, on a real vault (TLS, SoftHSM2,
 * SQLite). The register is the real one behind a wrapper that counts its
 * writes, or fails one as a power cut would (the fault the real token
 * cannot produce on demand).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import type { HsmSessions, RollbackRegister } from '../../src/hsm/hsm.js';
import { Pkcs11Hsm } from '../../src/hsm/index.js';
import type { AuditBody, StoredEntry } from '../../src/vault/audit/entry.js';
import { verifyAuditLog } from '../../src/vault/audit/verify.js';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';

/** Every HSM session pool of `hsm`, with the members `over` makes from the real pool in place of the real ones. */
function withSessions(hsm: Pkcs11Hsm, over: (real: HsmSessions) => Partial<HsmSessions>): Pkcs11Hsm {
  return new Proxy(hsm, {
    get(target, p) {
      if (p === 'sessions') {
        return async (...a: Parameters<Pkcs11Hsm['sessions']>) => {
          const pool = await target.sessions(...a);
          const members = over(pool) as Record<string | symbol, unknown>;
          return new Proxy(pool, { get: (t, q) => (q in members ? members[q] : bound(t, q)) }) as HsmSessions;
        };
      }
      return bound(target, p);
    },
  });
}

function bound(target: object, p: string | symbol): unknown {
  const v = Reflect.get(target, p) as unknown;
  return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
}

async function start(v: Running, account: string): Promise<{ tries_left: number }> {
  await opaque.ready;
  const c = await v.client();
  return c.channel.call('POST', '/v1/login/start', { account, request: opaque.client.startLogin({ password: 'guess' }).startLoginRequest });
}

/** The audit bodies in the store, in seq order. */
async function bodies(v: Running): Promise<AuditBody[]> {
  return (await v.store.audit(1)).map((r) => JSON.parse((JSON.parse(r.entry.toString('utf8')) as StoredEntry).body) as AuditBody);
}

describe('one batch per login start', () => {
  let l: Lab;
  let hsm: Pkcs11Hsm;
  let writes = 0;
  let cut = false;
  before(async () => {
    l = await lab();
    hsm = await Pkcs11Hsm.open(l.token.config('vault'));
  });
  after(async () => {
    await l.cleanup();
    await hsm.close();
  });

  const startCounting = () => l.start({
    policy: { guess_limit: 10 },
    hsm: withSessions(hsm, (pool) => ({
      register: {
        read: () => pool.register.read(),
        advance: (from, next) => {
          if (cut) return Promise.reject(new Error('power cut before the HSM register write'));
          writes++;
          return pool.register.advance(from, next);
        },
      } satisfies RollbackRegister,
    })),
  });

  it('a login start costs one HSM register write, and its counter and login.attempt entry are in it', async () => {
    const v = await startCounting();
    await (await v.client()).register('alice', 'pw', K, RECOVERY, 'laptop');
    await start(v, 'alice'); // the first start of a connection also pays for the attestation; count the next one
    const before = writes;
    assert.equal((await start(v, 'alice')).tries_left, 8);
    assert.equal(writes - before, 1, 'one register write for the guess counter and its audit entry');
    const last = (await bodies(v)).at(-1)!;
    assert.equal(last.type, 'login.attempt');
    assert.deepEqual(last.detail?.failures, 2);
    const head = await v.service.audit.signedHead();
    assert.equal(head.seq, last.seq, 'the sealed audit head covers the entry');
    await v.stop();
  });

  it('a crash between the store transaction and the register write leaves neither an entry without its counter nor a counter without its entry', async () => {
    let v = await startCounting();
    await (await v.client()).register('bob', 'pw', K, RECOVERY, 'laptop');
    assert.equal((await start(v, 'bob')).tries_left, 9);
    const c = await v.client(); // connected and attested before the cut
    cut = true;
    await assert.rejects(c.channel.call('POST', '/v1/login/start', { account: 'bob', request: opaque.client.startLogin({ password: 'guess' }).startLoginRequest }));
    cut = false;
    await v.stop();
    // Restarted on the real register: the batch stored before the cut is adopted whole or not at all.
    v = await l.start({ policy: { guess_limit: 10 } });
    const left = (await start(v, 'bob')).tries_left;
    const failures = 10 - left;
    const logged = (await bodies(v)).filter((b) => b.type === 'login.attempt' && b.account === 'bob').map((b) => b.detail?.failures);
    assert.deepEqual(logged, Array.from({ length: failures }, (_, i) => i + 1), 'one login.attempt entry for every counted guess, no more');
    const head = await v.service.audit.signedHead();
    assert.equal(verifyAuditLog(await v.store.audit(1), { root: l.ca.root.cert, pcrs: l.trust.pcrs, head }).head.seq, head.seq);
    await v.stop();
  });

  it('50 parallel wrong guesses against a limit of 10: exactly 10 answered, each logged once with its count', async () => {
    const v = await startCounting();
    await (await v.client()).register('carol', 'pw', K, RECOVERY, 'laptop');
    const before = writes;
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => start(v, 'carol')));
    const answered = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.tries_left] : []));
    assert.deepEqual(answered.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const logged = (await bodies(v)).filter((b) => b.account === 'carol' && (b.type === 'login.attempt' || b.type === 'lockout'));
    assert.deepEqual(logged.filter((b) => b.type === 'login.attempt').map((b) => b.detail?.failures), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.equal(logged.filter((b) => b.type === 'lockout').length, 1);
    assert.ok(writes - before <= 11, `50 starts took ${writes - before} register writes`);
    await v.stop();
  });

  it('login starts on one account make no HSM wrap or unwrap after the first, also after a restart', async () => {
    const calls = { wrap: 0, unwrap: 0 };
    const counting = () => l.start({
      policy: { guess_limit: 1000 },
      hsm: withSessions(hsm, (pool) => ({
        wrap: (ring, secret) => (calls.wrap++, pool.wrap(ring, secret)),
        unwrap: (blob) => (calls.unwrap++, pool.unwrap(blob)),
      })),
    });
    let v = await counting();
    await (await v.client()).register('dora', 'pw', K, RECOVERY, 'laptop');
    const starts = async (n: number) => {
      await start(v, 'dora'); // the first: its records' keys and copies may be new to this process
      const before = { ...calls };
      const left: number[] = [];
      for (let i = 0; i < n; i++) left.push((await start(v, 'dora')).tries_left);
      assert.deepEqual(calls, before, `${n} login starts after the first made ${calls.wrap - before.wrap} wraps and ${calls.unwrap - before.unwrap} unwraps`);
      return left;
    };
    const first = await starts(10);
    assert.deepEqual(first, Array.from({ length: 10 }, (_, i) => 1000 - 2 - i), 'every start counted');
    await v.stop();
    v = await counting(); // fresh memory: the first start reads the records through the HSM again
    const again = await starts(10);
    assert.deepEqual(again, Array.from({ length: 10 }, (_, i) => 1000 - 13 - i), 'counting goes on from the stored counter');
    await v.stop();
  });
});
