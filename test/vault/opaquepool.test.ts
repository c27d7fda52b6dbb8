/**
 * The OPAQUE pool's threads (src/vault/server/opaquepool.ts): a thread that
 * ends fails only what it had in flight and is replaced; one that keeps
 * ending fails the pool instead of respawning for ever.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { OpaquePool } from '../../src/vault/server/opaquepool.js';
import { VaultRefusal } from '../../src/vault/protocol.js';

const crashing = new URL('./opaquecrash-worker.js', import.meta.url);

async function account() {
  await opaque.ready;
  const serverSetup = opaque.server.createSetup();
  const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({ password: 'pw' });
  const { registrationResponse } = opaque.server.createRegistrationResponse({ serverSetup, userIdentifier: 'u', registrationRequest });
  const { registrationRecord } = opaque.client.finishRegistration({ password: 'pw', registrationResponse, clientRegistrationState });
  return { serverSetup, registrationRecord };
}

test('a thread that ends fails its batch as an internal error, and a new thread serves the next starts', async () => {
  const { serverSetup, registrationRecord } = await account();
  const pool = new OpaquePool(serverSetup, 1, crashing);
  const start = () => pool.startLogin('login request', { registrationRecord, userIdentifier: 'u', startLoginRequest: opaque.client.startLogin({ password: 'pw' }).startLoginRequest });
  try {
    assert.ok((await start()).loginResponse.length > 0);
    const lost = pool.startLogin('login request', { registrationRecord, userIdentifier: 'u', startLoginRequest: 'crash' });
    await assert.rejects(lost, (e: Error) => !(e instanceof VaultRefusal) && /OPAQUE worker thread ended \(injected fault\)/.test(e.message));
    const after = await start();
    const client = opaque.client.startLogin({ password: 'pw' });
    const ke2 = await pool.startLogin('login request', { registrationRecord, userIdentifier: 'u', startLoginRequest: client.startLoginRequest });
    assert.ok(after.loginResponse.length > 0);
    assert.ok(opaque.client.finishLogin({ clientLoginState: client.clientLoginState, loginResponse: ke2.loginResponse, password: 'pw' }), 'the new thread answers a KE2 the client accepts');
    await assert.rejects(pool.startLogin('login request', { registrationRecord, userIdentifier: 'u', startLoginRequest: 'not base64 at all' }), (e) => e instanceof VaultRefusal && e.code === 'bad_request');
  } finally {
    await pool.close();
  }
});

test('threads that keep ending fail the pool, not respawn for ever', async () => {
  const { serverSetup, registrationRecord } = await account();
  const pool = new OpaquePool(serverSetup, 1, crashing);
  const crash = () => pool.startLogin('login request', { registrationRecord, userIdentifier: 'u', startLoginRequest: 'crash' });
  try {
    for (let i = 0; i < 4; i++) await assert.rejects(crash(), /OPAQUE worker thread ended/);
    await assert.rejects(crash(), /4 threads ended within a minute, not restarted/);
  } finally {
    await pool.close();
  }
});
