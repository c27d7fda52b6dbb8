/**
 * Vault replicas as real processes (issue 12, finding 3): two `ebak vault
 * serve` processes on one throwaway PostgreSQL database and one SoftHSM
 * token. The host restores an older guess-counter row: both replicas refuse
 * it, and the guesses evaluated never exceed what was charged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import * as opaque from '@serenity-kit/opaque';
import { loadRoot } from '../../src/attestation/index.js';
import { VaultClient } from '../../src/vault/client/client.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { vaultMeasurements } from '../../src/vault/measure.js';
import { startServer, type Server } from '../cli/server.js';
import { PIN, softhsm, type SoftHsm } from '../hsm/softhsm.js';
import { K, RECOVERY } from './helpers.js';
import { startPlatform, startPostgres, type Platform } from './platform.js';

describe('vault replicas as processes on PostgreSQL', () => {
  let dir: string;
  let token: SoftHsm;
  let db: { url: string; stop: () => void };
  let platform: Platform;
  const replicas: Server[] = [];
  before(async () => {
    await opaque.ready;
    dir = mkdtempSync(join(tmpdir(), 'ebak-replicas-'));
    token = softhsm(['vault']);
    db = startPostgres();
    platform = await startPlatform(dir);
    const env = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, EBAK_HSM_TOKEN: 'vault', EBAK_HSM_PIN: PIN, ...platform.credentials };
    for (const name of ['a', 'b']) {
      replicas.push(await startServer(['vault', 'serve', '--dir', join(dir, name), '--state', db.url, '--devca', platform.devca, '--listen', '127.0.0.1:0', '--registration', 'open', ...platform.kmsFlags], env));
    }
  });
  after(async () => {
    for (const r of replicas) await r.stop();
    await platform?.keyService.stop();
    db?.stop();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a restored counter row is refused by both replicas; the guesses evaluated stay within the charges', async () => {
    const m = vaultMeasurements();
    const trust = { root: loadRoot(readFileSync(platform.root, 'utf8')), pcrs: { 0: m.PCR0, 1: m.PCR1, 2: m.PCR2 } };
    const [a, b] = await Promise.all(replicas.map((r) => VaultClient.connect(r.url, trust)));
    await a!.register('una', 'pw', K, RECOVERY, 'd');
    assert.deepEqual((await b!.login('una', 'pw', 'd2')).masterKey, K, 'registered on one replica, logged in on the other');
    const guess = async (c: VaultClient) => {
      try {
        return (await c.channel.call<{ tries_left: number }>('POST', '/v1/login/start', { account: 'una', request: opaque.client.startLogin({ password: 'guess' }).startLoginRequest })).tries_left;
      } catch (e) {
        if (e instanceof VaultError) return e.vaultCode;
        throw e;
      }
    };
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    try {
      assert.deepEqual([await guess(b!), await guess(b!), await guess(b!)], [9, 8, 7]);
      const old = (await sql.query('SELECT version, sealed FROM ebak_vault_records WHERE id = $1', ['ctr/una'])).rows[0] as { version: string; sealed: Buffer };
      assert.deepEqual([await guess(a!), await guess(a!), await guess(a!), await guess(a!)], [6, 5, 4, 3]);
      await sql.query('UPDATE ebak_vault_records SET version = $1, sealed = $2 WHERE id = $3', [old.version, old.sealed, 'ctr/una']);
      assert.deepEqual([await guess(a!), await guess(b!)], ['state_rollback', 'state_rollback'], 'both replicas refuse the restored row');
    } finally {
      await sql.end();
      a!.channel.close();
      b!.channel.close();
    }
  });
});
