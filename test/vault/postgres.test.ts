/** The vault on PostgreSQL (a real throwaway server): core flow, durable counter across a restart, rollback detection. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import * as opaque from '@serenity-kit/opaque';
import { VaultError } from '../../src/vault/client/transport.js';
import { openStore } from '../../src/vault/state/store.js';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';

const BIN = '/usr/lib/postgresql/15/bin';
const PORT = 55400 + (process.pid % 500);

function startPostgres(): { url: string; stop: () => void } {
  const d = mkdtempSync(join(tmpdir(), 'ebak-pg-'));
  mkdirSync(join(d, 'sock'));
  const pgUser = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const pgGroup = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  for (const p of [d, join(d, 'sock')]) chownSync(p, pgUser, pgGroup);
  const as = (args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', ...args], { cwd: '/tmp', stdio: 'ignore' });
  as([`${BIN}/initdb`, '-D', join(d, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  as([`${BIN}/pg_ctl`, '-D', join(d, 'data'), '-l', join(d, 'server.log'), '-w', '-o', `-p ${PORT} -k ${join(d, 'sock')} -c listen_addresses=127.0.0.1 -c fsync=on`, 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${PORT}/postgres`,
    stop: () => {
      as([`${BIN}/pg_ctl`, '-D', join(d, 'data'), '-m', 'fast', '-w', 'stop']);
      rmSync(d, { recursive: true, force: true });
    },
  };
}

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
});
