/** The vault on PostgreSQL (a real throwaway server): core flow, durable counter across a restart, rollback detection. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import * as opaque from '@serenity-kit/opaque';
import { VaultError } from '../../src/vault/client/errors.js';
import { openStore } from '../../src/vault/state/open.js';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';
import { startPostgres } from './platform.js';

async function guess(v: Running, account: string): Promise<{ tries_left: number }> {
  await opaque.ready;
  const c = await v.client();
  return c.channel.call('POST', '/v1/login/start', { account, request: opaque.client.startLogin({ password: 'guess' }).startLoginRequest });
}

describe('vault on PostgreSQL', () => {
  let l: Lab;
  let server: { url: string; stop: () => void };
  let v: Running;
  before(async () => {
    server = startPostgres();
    l = await lab();
    v = await l.start({ store: await openStore(server.url) });
  });
  after(async () => {
    await l?.cleanup();
    server?.stop();
  });

  it('registers and logs in; the counter survives a restart; a replayed counter row is refused', async () => {
    const c = await v.client();
    await c.register('pat', 'pw', K, RECOVERY, 'd');
    assert.deepEqual((await c.login('pat', 'pw', 'd2')).masterKey, K);
    assert.equal((await guess(v, 'pat')).tries_left, 9);
    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    try {
      const old = (await db.query('SELECT version, sealed FROM ebak_vault_records WHERE id = $1', ['ctr/pat'])).rows[0] as { version: string; sealed: Buffer };
      await v.stop();
      v = await l.start({ store: await openStore(server.url) });
      assert.equal((await guess(v, 'pat')).tries_left, 8);
      await db.query('UPDATE ebak_vault_records SET version = $1, sealed = $2 WHERE id = $3', [old.version, old.sealed, 'ctr/pat']);
      await assert.rejects(guess(v, 'pat'), (e) => e instanceof VaultError && e.vaultCode === 'state_rollback');
    } finally {
      await db.end();
    }
  });

  it('two replicas on one database: a restored counter or account row is refused by both, and the guess budget stays exact', async () => {
    const a = v;
    const b = await l.start({ store: await openStore(server.url) });
    const c = await a.client();
    const owner = await c.register('rita', 'pw', K, RECOVERY, 'owner');
    const stolen = (await c.login('rita', 'pw', 'stolen')).session;
    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    const rowOf = async (id: string) => (await db.query('SELECT version, sealed FROM ebak_vault_records WHERE id = $1', [id])).rows[0] as { version: string; sealed: Buffer };
    const restore = (id: string, r: { version: string; sealed: Buffer }) => db.query('UPDATE ebak_vault_records SET version = $1, sealed = $2 WHERE id = $3', [r.version, r.sealed, id]);
    try {
      // The account row: revoke the stolen device, then the host restores the row from before (b has read it).
      const cb = await b.client();
      await cb.devices(stolen.token);
      const before = await rowOf('acct/rita');
      await c.revoke(owner.token, stolen.device_id, await c.stepUp(owner.token, 'rita', 'pw'));
      await restore('acct/rita', before);
      for (const via of [c, cb]) await assert.rejects(via.deviceKey(stolen.token, 'read'), (e) => e instanceof VaultError && e.vaultCode === 'state_rollback');
      // The counter row, on another account (rita's account record stays rolled back).
      await c.register('ruth', 'pw', K, RECOVERY, 'owner');
      let evaluated = 0;
      const attempt = async (via: Running) => {
        try {
          await guess(via, 'ruth');
          evaluated++;
          return 'evaluated';
        } catch (e) {
          if (e instanceof VaultError) return e.vaultCode;
          throw e;
        }
      };
      for (let i = 0; i < 3; i++) await attempt(b); // b has now seen this counter
      const old = await rowOf('ctr/ruth');
      for (let i = 0; i < 4; i++) await attempt(a);
      await restore('ctr/ruth', old);
      assert.deepEqual([await attempt(a), await attempt(b)], ['state_rollback', 'state_rollback']);
      await db.query("DELETE FROM ebak_vault_records WHERE id = 'ctr/ruth'");
      assert.equal(await attempt(b), 'state_rollback', 'a deleted counter row is a rollback too');
      assert.equal(evaluated, 7, 'only the guesses made before the rollback were evaluated');
    } finally {
      await db.end();
      await b.stop();
    }
  });

  it('two replicas: 40 parallel wrong guesses spread over both evaluate exactly the limit', async () => {
    const a = v;
    const b = await l.start({ store: await openStore(server.url), accountRate: { burst: 1000, perMinute: 1000 } });
    try {
      await (await a.client()).register('sam', 'pw', K, RECOVERY, 'd');
      const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => guess(i % 2 ? a : b, 'sam')));
      const ok = results.filter((r) => r.status === 'fulfilled').length;
      assert.equal(ok, 10, JSON.stringify(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.message.slice(0, 120))));
      assert.ok(results.every((r) => r.status === 'fulfilled' || (r.reason instanceof VaultError && r.reason.vaultCode === 'locked')), `every other guess is refused as locked: ${JSON.stringify(results.filter((r) => r.status === 'rejected' && !(r.reason instanceof VaultError && r.reason.vaultCode === 'locked')).map((r) => String((r as PromiseRejectedResult).reason).slice(0, 200)))}`);
    } finally {
      await b.stop();
    }
  });
});
