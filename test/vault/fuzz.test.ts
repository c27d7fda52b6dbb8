/** Every endpoint gets random, truncated and mistyped bodies: always a 4xx with a JSON error; the vault keeps serving. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as opaque from '@serenity-kit/opaque';
import { MAX_HEAD_BODY_BYTES } from '../../src/vault/protocol.js';
import { ROUTES } from '../../src/vault/server/http.js';
import type { VaultClient } from '../../src/vault/client/client.js';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';

/** Deterministic PRNG (xorshift32) so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x / 2 ** 32;
  };
}

describe('vault fuzz', () => {
  let l: Lab;
  let v: Running;
  let c: VaultClient;
  let valid: Record<string, unknown>;
  let token: string;
  before(async () => {
    l = await lab();
    v = await l.start({ accountRate: { burst: 10_000, perMinute: 60_000 }, addressRate: { burst: 10_000, perMinute: 60_000 }, registerRate: { burst: 10_000, perMinute: 60_000 } });
    c = await v.client();
    const s = await c.register('fuzz', 'pw', K, RECOVERY, 'd');
    token = s.token;
    await opaque.ready;
    const ke1 = opaque.client.startLogin({ password: 'x' }).startLoginRequest;
    valid = {
      'POST /v1/register/start': { account: 'new1', request: opaque.client.startRegistration({ password: 'x' }).registrationRequest },
      'POST /v1/register/finish': { account: 'new2', record: 'AAAA', envelope: 'AAAA', unlock_hash: '0'.repeat(64), device: 'd', ticket: 'AAAA' },
      'POST /v1/login/start': { account: 'fuzz', request: ke1 },
      'POST /v1/login/finish': { login_id: '0'.repeat(32), request: 'AAAA', device: 'd' },
      'POST /v1/unlock': { account: 'fuzz', unlock_secret: '0'.repeat(64) },
      'POST /v1/device/key': { action: 'read' },
      'POST /v1/devices/revoke': { device_id: '0'.repeat(32), step_up: 'AAAA' },
      'POST /v1/step-up': { login_id: '0'.repeat(32), request: 'AAAA' },
      'POST /v1/policy': { policy: { guess_limit: 10 }, step_up: 'AAAA' },
      'POST /v1/head': { add_snapshots: ['0'.repeat(64)], remove_indexes: ['1'.repeat(64)], packs: { ['0'.repeat(64)]: ['3'.repeat(64)] } },
      'POST /v1/retention': { op: 'lock', mode: 'governance', min_days: 30, changeable_for_days: 3, step_up: 'AAAA' },
      'POST /v1/delete': { snapshots: ['0'.repeat(64)], packs: ['1'.repeat(64)] },
      'POST /v1/snapshot-packs': { snapshot: '2'.repeat(64), packs: ['1'.repeat(64)] },
      'POST /v1/devices/write-only': { device: 'w', credential: 'AAAA', step_up: 'AAAA' },
      'POST /v1/enroll': {},
      'POST /v1/device/renew': {},
      'POST /v1/rotate': { envelope: 'AAAA', links: ['AAAA'], step_up: 'AAAA' },
      'POST /v1/drills': { plan: 'p', snapshot: '0'.repeat(64), files: 1, bytes: 2, ms: 3, verified: true, first_bad: '/a: damaged' },
    };
  });
  after(() => l.cleanup());

  async function send(method: string, path: string, body: Buffer | undefined, auth: boolean): Promise<{ status: number; json: { error?: { code: string } } }> {
    const r = await c.channel.requestRaw(method, path, body, auth ? token : undefined);
    return { status: r.status, json: JSON.parse(r.body.toString()) };
  }

  it('random, truncated and mutated bodies to every endpoint: 4xx + JSON error, never a crash', async () => {
    const next = rng(20261123);
    let cases = 0;
    for (const route of ROUTES.filter((r) => r.startsWith('POST'))) {
      const path = route.slice(5);
      const good = Buffer.from(JSON.stringify(valid[route]));
      const bodies: Buffer[] = [Buffer.alloc(0), Buffer.from('null'), Buffer.from('[]'), Buffer.from('"x"'), Buffer.from('{"__proto__":{"a":1}}'), Buffer.from('{"account":{"$gt":""}}')];
      for (let i = 0; i < 12; i++) bodies.push(randomBytes(1 + Math.floor(next() * 200)));
      for (let i = 0; i < 12; i++) bodies.push(good.subarray(0, Math.floor(next() * good.length)));
      for (let i = 0; i < 12; i++) {
        const b = Buffer.from(good);
        b[Math.floor(next() * b.length)] = Math.floor(next() * 256);
        bodies.push(b);
      }
      for (const body of bodies) {
        const r = await send('POST', path, body, true);
        cases++;
        assert.ok(r.status >= 400 && r.status < 500 || r.status === 200, `${route} ${body.toString('hex').slice(0, 40)} → ${r.status}`);
        if (r.status !== 200) assert.equal(typeof r.json.error?.code, 'string');
      }
    }
    assert.ok(cases > 300);
    // Transport-level malformations: wrong method, unknown path, oversized, wrong content type.
    assert.equal((await send('GET', '/v1/login/start', undefined, false)).status, 405);
    assert.equal((await send('GET', '/v1/nothing', undefined, false)).status, 404);
    assert.equal((await send('POST', '/v1/login/start', Buffer.alloc(20_000, 0x20), false)).status, 413);
    const names = Array.from({ length: 1000 }, (_, i) => i.toString(16).padStart(64, '0'));
    assert.equal((await send('POST', '/v1/head', Buffer.from(JSON.stringify({ remove_indexes: names })), true)).status, 200, 'a head delta may pass 16 KiB');
    assert.equal((await send('POST', '/v1/head', Buffer.alloc(MAX_HEAD_BODY_BYTES + 1, 0x20), true)).status, 413);
    assert.equal((await send('GET', '/v1/attestation?nonce=zz', undefined, false)).status, 400);
    assert.equal((await send('GET', '/v1/devices', undefined, false)).status, 401);
    assert.equal((await send('GET', '/v1/operator/status', undefined, true)).status, 403, 'no operator key configured');
    assert.equal((await send('GET', '/v1/audit?limit=-1', undefined, true)).status, 400);
    // Still serving, and the real account still logs in.
    assert.equal((await c.status()).mode, 'simulated');
    assert.deepEqual((await c.login('fuzz', 'pw', 'after-fuzz')).masterKey, K);
  });
});
