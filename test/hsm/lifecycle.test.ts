import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import type { AuditEvent } from '../../src/hsm/hsm.js';
import { parseBlob } from '../../src/hsm/blob.js';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { ck, ckr } from '../../src/hsm/pkcs11/module.js';
import { keyLabel } from '../../src/hsm/pkcs11/token.js';
import { softhsm } from './softhsm.js';

const env = softhsm(['t']);
const DAY = 24 * 3600;
const policy = { validitySeconds: 10 * DAY, graceSeconds: 5 * DAY };
let clock = new Date('2030-01-01T00:00:00Z');
const events: AuditEvent[] = [];
let failAudit = false;
let hsm: Pkcs11Hsm;

before(async () => {
  hsm = await Pkcs11Hsm.open(env.config('t'), {
    now: () => clock,
    audit: (e) => {
      if (failAudit) throw new Error('audit log unavailable');
      events.push(e);
    },
  });
});
after(async () => {
  await hsm.close();
  env.cleanup();
});

const code = (c: string) => (e: unknown) => isEbakError(e) && e.code === c;
const days = (n: number) => new Date(clock.getTime() + n * DAY * 1000);

test('rotation: the new version wraps, the old one only unwraps (enforced by the token too)', async () => {
  await hsm.createRing('r', 'wrap', policy);
  const secret = Buffer.alloc(32, 7);
  const old = await hsm.wrap('r', secret);
  const v2 = await hsm.rotate('r', policy);
  assert.deepEqual([v2.version, v2.current], [2, true]);
  const fresh = await hsm.wrap('r', secret);
  assert.equal(parseBlob(fresh).version, 2);
  assert.deepEqual(await hsm.unwrap(old), secret);
  // Bypassing ebak: the token itself refuses a wrap under v1.
  const v1 = hsm.token.findKey(keyLabel('r', 1))!;
  const tmp = hsm.token.importSecret(secret);
  assert.throws(() => hsm.token.p11.C_WrapKey(hsm.token.session, { mechanism: ck.CKM_AES_KEY_WRAP }, v1, tmp, Buffer.alloc(64)),
    (e) => ckr(e) === ck.CKR_KEY_FUNCTION_NOT_PERMITTED);
  hsm.token.destroy(tmp);
  // rewrap moves the old blob to v2 without the secret reaching the caller.
  const moved = await hsm.rewrap(old);
  assert.equal(parseBlob(moved).version, 2);
  assert.deepEqual(moved, fresh);
  assert.deepEqual(events.filter((e) => e.ring === 'r').map((e) => e.type), ['key.create', 'key.rotate']);
});

test('expiry: an expired version refuses wraps, unwraps during grace, then refuses', async () => {
  await hsm.createRing('e', 'wrap', policy);
  const blob = await hsm.wrap('e', Buffer.alloc(16, 1));
  const start = clock;
  try {
    clock = days(11); // past notAfter (10 days), inside grace (5 days)
    await assert.rejects(hsm.wrap('e', Buffer.alloc(16, 1)), code('HSM'));
    assert.deepEqual(await hsm.unwrap(blob), Buffer.alloc(16, 1));
    clock = days(5); // 16 days: grace over
    await assert.rejects(hsm.unwrap(blob), code('HSM'));
    // Rotating gives a valid version again.
    await hsm.rotate('e', policy);
    assert.equal(parseBlob(await hsm.wrap('e', Buffer.alloc(16, 1))).version, 2);
  } finally {
    clock = start;
  }
});

test('expire() ends validity early and sets the grace period', async () => {
  await hsm.createRing('x', 'wrap', policy);
  const blob = await hsm.wrap('x', Buffer.alloc(24, 3));
  const v = await hsm.expire('x', 1, clock, 3600);
  assert.equal(v.unwrapUntil.getTime(), clock.getTime() + 3600_000);
  await assert.rejects(hsm.wrap('x', Buffer.alloc(24, 3)), code('HSM'));
  assert.deepEqual(await hsm.unwrap(blob), Buffer.alloc(24, 3));
  assert.equal(events.at(-1)!.type, 'key.validity');
});

test('revocation refuses everything, at once and in the token', async () => {
  await hsm.createRing('v', 'encrypt', policy);
  const ct = await hsm.encrypt('v', Buffer.from('hello'));
  await hsm.revoke('v', 1, 'suspected compromise');
  await assert.rejects(hsm.decrypt(ct), code('HSM'));
  await assert.rejects(hsm.encrypt('v', Buffer.from('hello')), code('HSM'));
  const h = hsm.token.findKey(keyLabel('v', 1))!;
  assert.deepEqual([ck.CKA_ENCRYPT, ck.CKA_DECRYPT, ck.CKA_WRAP, ck.CKA_UNWRAP].map((t) => hsm.token.attr(h, t)[0]), [0, 0, 0, 0]);
  const listed = (await hsm.keys()).find((k) => k.ring === 'v')!;
  assert.deepEqual([listed.state, listed.reason, listed.current], ['revoked', 'suspected compromise', false]);
  assert.deepEqual(events.at(-1), { type: 'key.revoke', ring: 'v', version: 1, detail: 'suspected compromise', at: clock });
});

test('destroy is permanent, audited first, and aborted when the audit hook fails', async () => {
  await hsm.createRing('d', 'wrap', policy);
  const blob = await hsm.wrap('d', Buffer.alloc(32, 2));
  failAudit = true;
  await assert.rejects(hsm.destroy('d', 1), /audit log unavailable/);
  failAudit = false;
  assert.deepEqual(await hsm.unwrap(blob), Buffer.alloc(32, 2));
  await hsm.destroy('d', 1);
  assert.equal(events.at(-1)!.type, 'key.destroy');
  assert.equal(hsm.token.findKey(keyLabel('d', 1)), undefined);
  await assert.rejects(hsm.unwrap(blob), code('HSM'));
  assert.equal((await hsm.keys()).find((k) => k.ring === 'd')!.state, 'destroyed');
  await assert.rejects(hsm.wrap('d', Buffer.alloc(32, 2)), code('HSM'));
});

test('a blob naming a version the token lacks is refused clearly', async () => {
  const blob = Buffer.from(await hsm.wrap('r', Buffer.alloc(32, 7)));
  blob.writeUInt32BE(9, blob.length - 40 - 4);
  await assert.rejects(hsm.unwrap(blob), code('HSM'));
});
