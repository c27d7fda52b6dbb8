/**
 * The readers of what write-only vault devices add, without a vault: the
 * sealed record wo/<account>/<device> (server/writeonly.ts), the device file
 * format 2 (client/devicefile.ts), the enrollment code (client/device.ts),
 * the sealed credential (keys/writeonly.ts) and the strict reader of
 * POST /v1/devices/write-only (protocol.ts). Each refuses a version it does
 * not know and anything malformed, by its code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { random } from '../../src/crypto/index.js';
import type { EbakError } from '../../src/errors.js';
import { openCredential, sealCredential } from '../../src/keys/writeonly.js';
import { DEFAULT_CONFIG } from '../../src/repository/repository.js';
import { newCredential } from '../../src/repository/writeonly/credential.js';
import { decodeEnrollment, encodeEnrollment } from '../../src/vault/client/device.js';
import { parseDevice } from '../../src/vault/client/devicefile.js';
import { readAddWriteOnly, VaultRefusal } from '../../src/vault/protocol.js';
import { readWriteOnlyRecord } from '../../src/vault/server/writeonly.js';

const code = (c: string) => (e: unknown) => (e as EbakError).code === c;
const refusal = (c: string) => (e: unknown) => e instanceof VaultRefusal && e.code === c;

describe('wo/<account>/<device> record', () => {
  it('reads format 1, with or without its credential (erased at revocation)', () => {
    assert.deepEqual(readWriteOnlyRecord({ format: 1, device: 'd', credential: 'AQ' }, 'wo/a/d'), { format: 1, device: 'd', credential: 'AQ' });
    assert.deepEqual(readWriteOnlyRecord({ format: 1, device: 'd' }, 'wo/a/d'), { format: 1, device: 'd' });
  });

  it('refuses an unknown format and malformed fields', () => {
    for (const v of [{ format: 2, device: 'd', credential: 'AQ' }, { device: 'd' }, null, 'x', { format: '1', device: 'd' }])
      assert.throws(() => readWriteOnlyRecord(v, 'wo/a/d'), refusal('internal'), JSON.stringify(v));
    assert.throws(() => readWriteOnlyRecord({ format: 1, device: 7 }, 'wo/a/d'), refusal('internal'));
    assert.throws(() => readWriteOnlyRecord({ format: 1, device: 'd', credential: 1 }, 'wo/a/d'), refusal('internal'));
  });
});

describe('device file', () => {
  const base = { vault: 'https://v', account: 'a', device_id: '0'.repeat(32), device_name: 'n', token: 't', expires_at: 'e', root_pem: 'p', pcrs: {}, allow_debug: false };

  it('reads format 1 (a full device) and format 2 (a write-only device)', () => {
    assert.equal(parseDevice(JSON.stringify({ ...base, format: 1, wrapped_key: 'k' }), 'f').format, 1);
    assert.equal(parseDevice(JSON.stringify({ ...base, format: 2, kind: 'write-only', credential_key: 'k' }), 'f').format, 2);
  });

  it('refuses an unknown format (UNSUPPORTED_VERSION), a format without its fields and bad JSON (CORRUPT)', () => {
    assert.throws(() => parseDevice(JSON.stringify({ ...base, format: 3, wrapped_key: 'k' }), 'f'), code('UNSUPPORTED_VERSION'));
    assert.throws(() => parseDevice(JSON.stringify({ ...base, format: 2, wrapped_key: 'k' }), 'f'), code('CORRUPT'), 'format 2 has no wrapped K');
    assert.throws(() => parseDevice(JSON.stringify({ ...base, format: 2, credential_key: 'k' }), 'f'), code('CORRUPT'), 'format 2 names its kind');
    assert.throws(() => parseDevice(JSON.stringify({ ...base, format: 1, credential_key: 'k' }), 'f'), code('CORRUPT'));
    assert.throws(() => parseDevice('{', 'f'), code('CORRUPT'));
  });
});

describe('enrollment code', () => {
  const e = { vault: 'https://127.0.0.1:1', enrollment: `r-acct.${'a'.repeat(32)}.${'b'.repeat(43)}`, key: random(32).toString('base64url'), name: 'nas' };

  it('round-trips, naming the account of its token', () => {
    assert.deepEqual(decodeEnrollment(encodeEnrollment(e)), { ...e, account: 'r-acct' });
  });

  it('refuses another prefix, bad base64/JSON, a malformed token and a short key (USAGE)', () => {
    const good = encodeEnrollment(e);
    for (const c of [good.replace('ebak-enroll1.', 'ebak-enroll2.'), 'ebak-enroll1.!!!', `ebak-enroll1.${Buffer.from('[]').toString('base64url')}`,
      encodeEnrollment({ ...e, enrollment: 'r-acct.x.y' }), encodeEnrollment({ ...e, key: 'AAAA' })])
      assert.throws(() => decodeEnrollment(c), code('USAGE'), c);
  });
});

describe('sealed credential', () => {
  const config = { version: 1, id: random(32).toString('hex'), created: new Date().toISOString(), ...DEFAULT_CONFIG };
  const credential = newCredential(config, { blobId: random(32), gearSeed: random(32) }, random(32));
  const key = random(32);
  const sealed = sealCredential(key, 'acct', credential);

  it('opens with its key for its account, to the same credential', () => {
    assert.deepEqual(openCredential({ account: 'acct', sealed, key }), credential);
  });

  it('refuses another key or account (AUTH_FAILED), an unknown version (UNSUPPORTED_VERSION)', () => {
    assert.throws(() => openCredential({ account: 'acct', sealed, key: random(32) }), code('AUTH_FAILED'));
    assert.throws(() => openCredential({ account: 'other', sealed, key }), code('AUTH_FAILED'));
    const v2 = Buffer.from(sealed, 'base64url');
    v2[0] = 2;
    assert.throws(() => openCredential({ account: 'acct', sealed: v2.toString('base64url'), key }), code('UNSUPPORTED_VERSION'));
  });
});

describe('POST /v1/devices/write-only body', () => {
  it('takes a device name, a base64url credential and a step-up grant, nothing else', () => {
    assert.deepEqual(readAddWriteOnly({ device: 'nas', credential: 'AQID', step_up: 'AAAA' }), { device: 'nas', credential: 'AQID', step_up: 'AAAA' });
    for (const b of [{ device: 'nas', credential: 'AQID' }, { device: 'nas', credential: 'A+B', step_up: 'AAAA' }, { device: 'nas', credential: 'A'.repeat(4097), step_up: 'AAAA' },
      { device: 'nas', credential: 'AQID', step_up: 'AAAA', extra: 1 }, { device: '\n', credential: 'AQID', step_up: 'AAAA' }])
      assert.throws(() => readAddWriteOnly(b), refusal('bad_request'), JSON.stringify(b).slice(0, 60));
  });
});
