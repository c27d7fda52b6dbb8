/** Sealed state rollback detection and the signed, hash-chained audit log. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import * as opaque from '@serenity-kit/opaque';
import { isEbakError } from '../../src/errors.js';
import { verifyAuditLog } from '../../src/vault/audit/verify.js';
import { AUDIT_FORMAT, encodeBody, entryHash, type StoredEntry } from '../../src/vault/audit/entry.js';
import { HEAD_ID } from '../../src/vault/audit/log.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';

async function guess(v: Running, account: string): Promise<{ tries_left: number }> {
  await opaque.ready;
  const c = await v.client();
  return c.channel.call('POST', '/v1/login/start', { account, request: opaque.client.startLogin({ password: 'guess' }).startLoginRequest });
}

describe('sealed state and audit', () => {
  let l: Lab;
  let v: Running;
  let db: Database.Database;
  const row = (id: string) => db.prepare('SELECT version, sealed FROM records WHERE id = ?').get(id) as { version: number; sealed: Buffer };
  const putRow = (id: string, r: { version: number; sealed: Buffer }) => db.prepare('UPDATE records SET version = ?, sealed = ? WHERE id = ?').run(r.version, r.sealed, id);
  before(async () => {
    l = await lab();
    v = await l.start();
    db = new Database(join(l.dir, 'state.db'));
    await (await v.client()).register('alice', 'pw', K, RECOVERY, 'laptop');
  });
  after(async () => {
    db.close();
    await l.cleanup();
  });

  it('records in the host store are sealed: no plaintext field is visible', () => {
    const acct = row('acct/alice').sealed;
    assert.equal(acct.subarray(0, 4).toString(), 'EBSR');
    assert.ok(!acct.includes(Buffer.from('laptop')) && !acct.includes(Buffer.from('registration_record')));
  });

  it('a replayed older guess counter is detected and refused (no guess evaluated)', async () => {
    await guess(v, 'alice');
    const old = row('ctr/alice');
    await guess(v, 'alice');
    await guess(v, 'alice');
    putRow('ctr/alice', old);
    await assert.rejects(guess(v, 'alice'), (e) => e instanceof VaultError && e.vaultCode === 'state_rollback');
    // A restarted vault (fresh memory) still catches it: the counter lives in the HSM token.
    await v.stop();
    v = await l.start();
    await assert.rejects(guess(v, 'alice'), (e) => e instanceof VaultError && e.vaultCode === 'state_rollback');
  });

  it('a record swapped for another record fails authentication', async () => {
    const c = await v.client();
    await c.register('bob', 'pw', K, RECOVERY, 'd');
    await c.register('eve', 'pw', K, RECOVERY, 'd');
    db.prepare('UPDATE records SET sealed = ? WHERE id = ?').run(row('ctr/eve').sealed, 'ctr/bob');
    await assert.rejects(guess(v, 'bob'), (e) => e instanceof VaultError && e.vaultCode === 'internal');
  });

  it('the audit log verifies whole; an edited, removed or truncated entry is detected', async () => {
    const c = await v.client();
    const s = await c.register('carol', 'pw', K, RECOVERY, 'd');
    await c.revoke(s.token, s.device_id);
    const head = await v.service.audit.signedHead();
    const rows = await v.store.audit(1);
    const opts = { root: l.ca.root.cert, pcrs: l.trust.pcrs, head };
    const report = verifyAuditLog(rows, opts);
    assert.equal(report.entries, rows.length);
    assert.equal(report.boots, 2);
    assert.deepEqual(report.head, { seq: head.seq, hash: head.hash });
    const types = rows.map((r) => JSON.parse(JSON.parse(r.entry.toString()).body).type);
    assert.deepEqual(types.slice(0, 3), ['boot', 'register', 'login.attempt']);
    assert.deepEqual(types.slice(-2), ['register', 'device.revoke']);
    const edited = rows.map((r) => ({ ...r }));
    edited[2]!.entry = Buffer.from(edited[2]!.entry.toString().replace('"failures\\":1', '"failures\\":0'));
    assert.notDeepEqual(edited[2]!.entry, rows[2]!.entry);
    assert.throws(() => verifyAuditLog(edited, opts), (e) => isEbakError(e, 'AUTH_FAILED') && /entry 3/.test(e.message));
    assert.throws(() => verifyAuditLog(rows.filter((r) => r.seq !== 2), opts), (e) => isEbakError(e, 'AUTH_FAILED'));
    assert.throws(() => verifyAuditLog(rows.slice(0, -1), opts), (e) => isEbakError(e, 'AUTH_FAILED') && /removed from the end/.test(e.message));
    assert.throws(() => verifyAuditLog(rows, { ...opts, pcrs: { ...opts.pcrs, 0: '00'.repeat(48) } }), (e) => isEbakError(e, 'ATTESTATION'));
    // A head not signed by the latest boot's key (a host's own) is refused.
    assert.throws(() => verifyAuditLog(rows, { ...opts, head: { ...head, sig: Buffer.alloc(64).toString('base64') } }), (e) => isEbakError(e, 'AUTH_FAILED') && /not signed/.test(e.message));
  });

  it('audit group commit: concurrent appends are each stored once, chained and signed, with fewer head updates', async () => {
    const before = (await v.service.audit.head()).seq;
    const headVersion = row(HEAD_ID).version;
    const heads = await Promise.all(Array.from({ length: 200 }, (_, i) => v.service.audit.append('admin', null, { i })));
    assert.deepEqual(heads.map((h) => h.seq), Array.from({ length: 200 }, (_, i) => before + 1 + i), 'each caller gets its own seq, in call order');
    const rows = await v.store.audit(1);
    const mine = rows.filter((r) => r.seq > before).map((r) => JSON.parse(JSON.parse(r.entry.toString()).body) as { seq: number; detail: { i: number } });
    assert.deepEqual(mine.map((b) => b.detail.i), Array.from({ length: 200 }, (_, i) => i));
    const head = await v.service.audit.signedHead();
    assert.deepEqual({ seq: head.seq, hash: head.hash }, heads.at(-1));
    assert.equal(verifyAuditLog(rows, { root: l.ca.root.cert, pcrs: l.trust.pcrs, head }).entries, rows.length);
    const updates = row(HEAD_ID).version - headVersion;
    assert.ok(updates >= 1 && updates < 200, `200 appends advanced the sealed head ${updates} times`);
  });

  it('audit group commit is all or nothing: a batch that meets an existing seq stores none of its entries', async () => {
    const before = (await v.service.audit.head()).seq;
    db.prepare('INSERT INTO audit (seq, entry) VALUES (?, ?)').run(before + 2, Buffer.from('planted'));
    const results = await Promise.allSettled([1, 2, 3].map((i) => v.service.audit.append('admin', null, { i })));
    assert.ok(results.every((r) => r.status === 'rejected' && isEbakError(r.reason, 'VAULT')));
    assert.equal((db.prepare('SELECT count(*) AS n FROM audit WHERE seq = ?').get(before + 1) as { n: number }).n, 0);
    assert.equal((await v.service.audit.head()).seq, before);
    db.prepare('DELETE FROM audit WHERE seq = ?').run(before + 2);
    assert.equal((await v.service.audit.append('admin', null, { i: 4 })).seq, before + 1);
  });

  it('an entry a replica stored past the head before it died (head never advanced) is adopted by the next append', async () => {
    const head = await v.service.audit.head();
    const body = encodeBody({ v: AUDIT_FORMAT, seq: head.seq + 1, time: new Date().toISOString(), type: 'admin', account: null, detail: { orphan: true }, prev: head.hash });
    const hash = entryHash(body).toString('hex');
    const { privateKey } = generateKeyPairSync('ed25519');
    const orphan: StoredEntry = { body, hash, sig: sign(null, Buffer.from(hash, 'hex'), privateKey).toString('base64') };
    db.prepare('INSERT INTO audit (seq, entry) VALUES (?, ?)').run(head.seq + 1, Buffer.from(JSON.stringify(orphan)));
    const after = await v.service.audit.append('admin', null, { i: 5 });
    assert.equal(after.seq, head.seq + 2, 'chained after the orphan, not refused as a collision');
    const next = JSON.parse((JSON.parse(((await v.store.audit(head.seq + 2))[0]!.entry).toString()) as StoredEntry).body) as { prev: string };
    assert.equal(next.prev, hash);
    assert.deepEqual(await v.service.audit.head(), after);
  });

  it('a replayed older audit head is detected', async () => {
    const old = row(HEAD_ID);
    await (await v.client()).register('dan', 'pw', K, RECOVERY, 'd');
    putRow(HEAD_ID, old);
    await assert.rejects((await v.client()).register('fay', 'pw', K, RECOVERY, 'd'), (e) => e instanceof VaultError && e.vaultCode === 'state_rollback');
  });
});
