/**
 * Vault replicas share pending logins and rate limits (issue 19): two (and a
 * third, with a short login timeout) in-process vaults on one throwaway
 * PostgreSQL database and one SoftHSM token. A login started on one replica
 * finishes on the other, once; an expired one is refused; an unknown
 * account's fake login and its countdown look the same on every replica;
 * an account's rate bucket is one bucket across replicas. The buckets'
 * store step is checked on SQLite and PostgreSQL alike.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { unwrapMasterKey } from '../../src/vault/envelope.js';
import type { SessionResponse } from '../../src/vault/protocol.js';
import { openStore } from '../../src/vault/state/open.js';
import { SqliteStore } from '../../src/vault/state/sqlite.js';
import type { StateStore } from '../../src/vault/state/store.js';
import { K, RECOVERY, lab, type Lab, type Running, refused } from './helpers.js';
import { startPostgres } from './platform.js';

const RATES = { accountRate: { burst: 8, perMinute: 0.01 }, addressRate: { burst: 100_000, perMinute: 100_000 } };

async function start(v: Running, account: string, password: string) {
  const c = await v.client();
  const s = opaque.client.startLogin({ password });
  const ke2 = await c.channel.call<{ login_id: string; response: string; tries_left: number }>('POST', '/v1/login/start', { account, request: s.startLoginRequest });
  const fin = opaque.client.finishLogin({ clientLoginState: s.clientLoginState, loginResponse: ke2.response, password });
  return { ...ke2, finish: fin?.finishLoginRequest ?? 'AAAA', exportKey: fin ? Buffer.from(fin.exportKey, 'base64url') : undefined };
}

async function finish(v: Running, loginId: string, request: string): Promise<SessionResponse> {
  return (await v.client()).channel.call<SessionResponse>('POST', '/v1/login/finish', { login_id: loginId, request, device: 'd' });
}

describe('replicas share pending logins and rate limits', () => {
  let l: Lab;
  let db: { url: string; stop: () => void };
  let a: Running;
  let b: Running;
  before(async () => {
    await opaque.ready;
    db = startPostgres();
    l = await lab();
    a = await l.start({ store: await openStore(db.url), ...RATES });
    b = await l.start({ store: await openStore(db.url), ...RATES });
    await (await a.client()).register('pia', 'pw', K, RECOVERY, 'd');
  });
  after(async () => {
    await l?.cleanup();
    db?.stop();
  });

  it('a login started on one replica finishes on the other, and only once', async () => {
    const s = await start(a, 'pia', 'pw');
    const session = await finish(b, s.login_id, s.finish);
    assert.deepEqual(unwrapMasterKey('vault', s.exportKey!, 'pia', session.envelope!), K);
    await assert.rejects(finish(a, s.login_id, s.finish), refused('not_found'), 'a second finish, on the other replica');
    await assert.rejects(finish(b, s.login_id, s.finish), refused('not_found'), 'a second finish, on the same replica');
    const raced = await start(b, 'pia', 'pw');
    const both = await Promise.allSettled([finish(a, raced.login_id, raced.finish), finish(b, raced.login_id, raced.finish)]);
    assert.equal(both.filter((r) => r.status === 'fulfilled').length, 1, 'two replicas finishing one login at once: one wins');
    assert.ok(both.every((r) => r.status === 'fulfilled' || refused('not_found')(r.reason)));
  });

  it('an expired login is refused on every replica', async () => {
    const short = await l.start({ store: await openStore(db.url), ...RATES, loginTimeoutSeconds: 1 });
    try {
      const s = await start(short, 'pia', 'pw');
      await sleep(1300);
      await assert.rejects(finish(a, s.login_id, s.finish), refused('not_found'));
    } finally {
      await short.stop();
    }
  });

  it('an unknown account: its fake login counts down across replicas and never verifies on either', async () => {
    const first = await start(a, 'nobody', 'guess');
    const second = await start(b, 'nobody', 'guess');
    assert.equal(second.tries_left, first.tries_left - 1);
    await assert.rejects(finish(b, first.login_id, 'AAAA'), refused('login_failed'), 'the same answer as a real wrong login, not not_found');
  });

  it("an account's rate bucket is one bucket across replicas", async () => {
    await (await a.client()).register('rob', 'pw', K, RECOVERY, 'd');
    const results = await Promise.allSettled(Array.from({ length: 14 }, (_, i) => start(i % 2 ? a : b, 'rob', 'guess')));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 8, 'exactly the burst, over both replicas');
    assert.ok(results.every((r) => r.status === 'fulfilled' || refused('rate_limited')(r.reason)));
  });

  for (const kind of ['sqlite', 'postgres'] as const) {
    it(`the bucket step on ${kind}: grants up to the tokens left, refills by time, takes refunds, never above the burst`, async () => {
      const s: StateStore = kind === 'sqlite' ? SqliteStore.open(join(l.dir, 'buckets.db')) : await openStore(db.url);
      try {
        const step = (want: number, now: number, refund = 0) => s.takeTokens({ key: `t:${kind}`, burst: 5, perMinute: 60, want, refund, now });
        assert.deepEqual(await step(3, 0), { granted: 3, tokens: 2 });
        assert.deepEqual(await step(3, 0), { granted: 2, tokens: 0 });
        assert.deepEqual(await step(1, 0), { granted: 0, tokens: 0 });
        assert.deepEqual(await step(2, 1500), { granted: 1, tokens: 0.5 }, '1.5 s at 1/s');
        assert.deepEqual(await step(1, 1500, 2), { granted: 1, tokens: 1.5 }, 'a refund of 2');
        assert.deepEqual(await step(1, 600_000), { granted: 1, tokens: 4 }, 'capped at the burst');
        assert.deepEqual(await step(1, 0), { granted: 1, tokens: 3 }, 'an earlier clock does not refill');
        await s.purgeBuckets(600_001);
        assert.deepEqual(await step(1, 600_002), { granted: 1, tokens: 4 }, 'purged: full again');
      } finally {
        await s.close();
      }
    });
  }
});
