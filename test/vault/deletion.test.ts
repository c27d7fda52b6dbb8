/**
 * The vault deletes (server/deletion.ts; docs/retention.md "Vault mode: the
 * vault deletes"): a real vault holding a delete credential (read from a
 * `--delete-credentials` file) for a repository on s3rver, reached through
 * the recording proxy, which plays the IAM policy: the clients' access key
 * may not DeleteObject, the vault's may. A "patched client" (a valid device
 * session calling POST /v1/delete directly) cannot delete a held or locked
 * snapshot, nor a pack such a snapshot recorded, nor any pack while a
 * protected snapshot has no record; each refusal deletes nothing and is
 * audited, as is each deletion. Also the strict readers.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { readDeleteCredentials } from '../../src/cli/commands/vault-deleters.js';
import { isEbakError } from '../../src/errors.js';
import type { VaultClient } from '../../src/vault/client/client.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { MAX_HEAD_NAMES, readDeleteRequest, readHeadDelta, readSnapshotPacks, VaultRefusal } from '../../src/vault/protocol.js';
import { mergedRecord, packRecord, spId } from '../../src/vault/server/packrecord.js';
import type { StateStore } from '../../src/vault/state/store.js';
import { listKeys, putObject, startFixture, type S3Fixture } from '../s3/fixture.js';
import { accessKeyOf } from '../storage/proxy.js';
import { K, RECOVERY, lab, type Lab } from './helpers.js';

const BUCKET = 'vault-deletes';
const id = () => randomBytes(32).toString('hex');
const refused = (vaultCode: string) => (e: unknown) => e instanceof VaultError && e.vaultCode === vaultCode;
type AuditEntry = { type: string; detail: Record<string, unknown> };

describe('deletion by the vault', { timeout: 180_000 }, () => {
  let fx: S3Fixture;
  let l: Lab;
  let c: VaultClient;
  let records: StateStore;

  before(async () => {
    fx = await startFixture();
    await fx.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    fx.proxy.aliases.add('EBAKVAULT').add('EBAKCLIENT');
    // The clients' IAM policy: no s3:DeleteObject (the vault's credential has it).
    fx.proxy.fault = (r) => (r.method === 'DELETE' && accessKeyOf(r) === 'EBAKCLIENT' ? { status: 403, code: 'AccessDenied' } : undefined);
    l = await lab();
    const file = join(l.dir, 'delete-credentials.json');
    const entry = (account: string) => ({
      account, repository: `s3:${fx.proxy.endpoint}/${BUCKET}/${account}`, access_key_id: 'EBAKVAULT', secret_access_key: 'vault-held', ca_file: fx.server.tls.certFile,
    });
    await writeFile(file, JSON.stringify({ format: 1, repositories: ['del1', 'del2', 'race1', 'race2', 'race3', 'race4'].map(entry) }), { mode: 0o600 });
    const v = await l.start({ deleters: await readDeleteCredentials(file) });
    records = v.store;
    c = await v.client();
  });
  after(async () => {
    await l?.cleanup();
    await fx?.stop();
  });

  /** Snapshot and pack objects stored in `account`'s repository. */
  async function store(account: string, snapshots: string[], packs: string[]): Promise<void> {
    for (const s of snapshots) await putObject(fx, BUCKET, `${account}/snapshots/${s}`, randomBytes(64));
    for (const p of packs) await putObject(fx, BUCKET, `${account}/data/${p.slice(0, 2)}/${p}`, randomBytes(64));
  }
  const stored = async (account: string) => (await listKeys(fx, BUCKET, `${account}/`)).map((k) => k.split('/').pop()!);
  const audit = async (token: string) => (await c.audit(token)) as AuditEntry[];

  it('a patched client cannot delete a held snapshot, a pack it recorded, or any pack while a protected one has no record; the rest goes, audited', async () => {
    const { token } = await c.register('del1', 'pw', K, RECOVERY, 'd');
    const [held, free, unrecorded] = [id(), id(), id()];
    const [p1, p2, p3, p4] = [id(), id(), id(), id()];
    await store('del1', [held, free, unrecorded], [p1, p2, p3, p4]);
    assert.deepEqual(await c.recordSnapshotPacks(token, { snapshot: held, packs: [p2, p1] }), { recorded: true });
    assert.deepEqual(await c.recordSnapshotPacks(token, { snapshot: held, packs: [] }), { recorded: false }, 'the first record stands');
    await c.recordSnapshotPacks(token, { snapshot: free, packs: [p3] });
    await c.postHead(token, { add_snapshots: [held, free] });
    await c.postRetention(token, { op: 'hold', snapshot: held, reason: 'case 7' });
    assert.deepEqual(await c.deleteStatus(token), { enabled: true, pinned: [p1, p2].sort(), pinned_all: false });

    const before = await stored('del1');
    await assert.rejects(c.deleteObjects(token, { snapshots: [free, held] }), refused('retention'));
    await assert.rejects(c.deleteObjects(token, { packs: [p4, p1] }), refused('retention'));
    assert.deepEqual(await stored('del1'), before, 'a refusal deletes nothing of its request');

    assert.deepEqual(await c.deleteObjects(token, { snapshots: [free], packs: [p3, p4] }), { snapshots: 1, packs: 2 });
    assert.deepEqual((await stored('del1')).sort(), [held, unrecorded, p1, p2].sort());
    const recordBytes = async (snapshot: string) => (await records.get(spId('del1', snapshot)))?.sealed.length;
    assert.equal(await recordBytes(free), 0, 'the deleted snapshot\'s pack record is purged');
    assert.ok((await recordBytes(held))! > 0, 'the held one\'s stays');

    // A protected snapshot the vault has no pack record of: it deletes no pack at all.
    await c.postHead(token, { add_snapshots: [unrecorded] });
    await c.postRetention(token, { op: 'hold', snapshot: unrecorded, reason: 'case 8' });
    assert.equal((await c.deleteStatus(token)).pinned_all, true);
    await store('del1', [], [p3]);
    await assert.rejects(c.deleteObjects(token, { packs: [p3] }), refused('retention'));

    const entries = await audit(token);
    const refusals = entries.filter((e) => e.type === 'retention.refuse').map((e) => e.detail);
    assert.deepEqual(refusals.map((d) => [d.snapshot, d.pack ?? null, d.reason]), [[held, null, 'legal hold'], [held, p1, 'legal hold'], [unrecorded, null, 'no pack record']]);
    assert.deepEqual(entries.filter((e) => e.type === 'retention.delete').map((e) => [e.detail.snapshots, e.detail.packs]), [[1, 2]]);
    const deletes = fx.proxy.requests.filter((r) => r.method === 'DELETE');
    assert.ok(deletes.length >= 3 && deletes.every((r) => accessKeyOf(r) === 'EBAKVAULT'), 'the vault deletes with its own credential');
  });

  it('the snapshot a lock protects by the vault\'s first sight of it is refused; a recorded snapshot cannot be recorded again once removed', async () => {
    const { token } = await c.register('del2', 'pw', K, RECOVERY, 'd');
    const [s, p] = [id(), id()];
    await store('del2', [s], [p]);
    await c.recordSnapshotPacks(token, { snapshot: s, packs: [p] });
    await c.postHead(token, { add_snapshots: [s] });
    await c.postRetention(token, { op: 'lock', mode: 'governance', min_days: 30, changeable_for_days: 3, step_up: await c.stepUp(token, 'del2', 'pw') });
    await assert.rejects(c.deleteObjects(token, { snapshots: [s] }), refused('retention'));
    await assert.rejects(c.deleteObjects(token, { packs: [p] }), refused('retention'));
    assert.equal((await stored('del2')).length, 2);
    await c.postRetention(token, { op: 'unlock', step_up: await c.stepUp(token, 'del2', 'pw') });
    await c.postHead(token, { remove_snapshots: [s], pending: true });
    await assert.rejects(c.recordSnapshotPacks(token, { snapshot: s, packs: [] }), refused('forbidden'), 'a record is made at backup time, not during a removal');
    await c.deleteObjects(token, { snapshots: [s], packs: [p] });
    assert.deepEqual(await stored('del2'), []);
  });

  it('an account whose delete credential the vault does not hold: the client deletes itself', async () => {
    const { token } = await c.register('nodel', 'pw', K, RECOVERY, 'd');
    assert.equal((await c.deleteStatus(token)).enabled, false);
    await assert.rejects(c.deleteObjects(token, { snapshots: [id()] }), refused('not_found'));
  });

  it('reads deletions and pack records strictly; a bad credential file is one USAGE naming each problem', async () => {
    const bad = (fn: () => unknown) => assert.throws(fn, (e) => e instanceof VaultRefusal && e.code === 'bad_request');
    bad(() => readDeleteRequest({}));
    bad(() => readDeleteRequest({ snapshots: ['x'] }));
    bad(() => readDeleteRequest({ packs: [id(), id()], indexes: [id()] }));
    const twice = id();
    bad(() => readDeleteRequest({ packs: [twice, twice] }));
    bad(() => readSnapshotPacks({ snapshot: 'abc', packs: [] }));
    assert.deepEqual(readDeleteRequest({ packs: [twice] }), { packs: [twice] });
    const file = join(l.dir, 'bad-credentials.json');
    await writeFile(file, JSON.stringify({ format: 1, repositories: [{ account: 'a', repository: 's3:x' }, { account: 'a', repository: 's3:y', access_key_id: 'k', secret_access_key: 's', extra: 1 }] }));
    await assert.rejects(readDeleteCredentials(file), (e) => isEbakError(e, 'USAGE'));
  });
  /** `account` registered from device `a`, and a second device `b` of the same account logged in. */
  async function twoDevices(account: string): Promise<{ a: string; b: string }> {
    const { token: a } = await c.register(account, 'pw', K, RECOVERY, 'a');
    const { session } = await c.login(account, 'pw', 'b');
    return { a, b: session.token };
  }

  it('a second device racing {S, []} before the adder\'s head post cannot unprotect S\'s packs: the head post records them', async () => {
    const { a, b } = await twoDevices('race1');
    const [s, p, q] = [id(), id(), id()];
    await store('race1', [s], [p, q]);
    // B lists snapshots/, learns S before A's head post, and posts an empty record first.
    assert.deepEqual(await c.recordSnapshotPacks(b, { snapshot: s, packs: [] }), { recorded: true });
    await c.postHead(a, { add_snapshots: [s], packs: { [s]: [p] } });
    assert.deepEqual(await c.recordSnapshotPacks(b, { snapshot: s, packs: [] }), { recorded: false }, 'no record is taken for a snapshot in the head');
    await c.postRetention(a, { op: 'hold', snapshot: s, reason: 'case 9' });
    assert.deepEqual(await c.deleteStatus(b), { enabled: true, pinned: [p], pinned_all: false }, 'the adder\'s record replaced the racer\'s');
    await assert.rejects(c.deleteObjects(b, { packs: [p] }), refused('retention'));
    assert.deepEqual(await c.deleteObjects(b, { packs: [q] }), { snapshots: 0, packs: 1 });
    assert.ok((await stored('race1')).includes(p));
    const updates = (await audit(a)).filter((e) => e.type === 'head.update').map((e) => e.detail.recorded);
    assert.deepEqual(updates, [1], 'the head update says how many pack records it made');
  });

  it('a second device adding S to the head itself with fewer packs, before the adder\'s post, is outvoted: the adder\'s packs are merged in', async () => {
    const { a, b } = await twoDevices('race4');
    const [s, p, q, unrecorded] = [id(), id(), id(), id()];
    await store('race4', [s, unrecorded], [p, q]);
    await c.postHead(b, { add_snapshots: [s], packs: { [s]: [] } });
    await c.postHead(a, { add_snapshots: [s], packs: { [s]: [p] } });
    await c.postRetention(a, { op: 'hold', snapshot: s, reason: 'case 12' });
    assert.deepEqual((await c.deleteStatus(b)).pinned, [p]);
    await c.postHead(b, { add_snapshots: [s], packs: { [s]: [] } });
    assert.deepEqual((await c.deleteStatus(b)).pinned, [p], 'a record never shrinks');
    await assert.rejects(c.deleteObjects(b, { packs: [p] }), refused('retention'));
    // Live with no record (added without packs): a later addition with packs does not make one (it could name fewer).
    await c.postHead(a, { add_snapshots: [unrecorded] });
    await c.postRetention(a, { op: 'hold', snapshot: unrecorded, reason: 'case 13' });
    await c.postHead(b, { add_snapshots: [unrecorded], packs: { [unrecorded]: [] } });
    assert.equal((await c.deleteStatus(b)).pinned_all, true);
  });

  it('a pack record grows by merges, keeps who merged, and past 10,000 packs becomes unknown (the vault then deletes no pack)', () => {
    const at = new Date('2026-12-02T00:00:00Z');
    const [p, q] = [id(), id()];
    const rec = packRecord([p], 'a', at);
    assert.equal(mergedRecord(rec, [p], 'b', at), undefined, 'nothing new: no write');
    assert.equal(mergedRecord(undefined, [p], 'b', at), undefined, 'no record: none is made');
    assert.deepEqual(mergedRecord(rec, [q], 'b', at), { format: 1, packs: [p, q].sort(), device: 'a', at: at.toISOString(), also: ['b'] });
    const full = packRecord(Array.from({ length: MAX_HEAD_NAMES }, id), 'a', at);
    assert.deepEqual(mergedRecord(full, [q], 'b', at), { format: 1, unknown: true, device: 'b', at: at.toISOString() });
  });

  it('packs only for the snapshots a head post adds: another is one bad_request, a repeat addition merges, a refused post records nothing', async () => {
    const { a, b } = await twoDevices('race2');
    const [s, t, held, p, p2] = [id(), id(), id(), id(), id()];
    await store('race2', [s, t, held], [p, p2]);
    await assert.rejects(c.postHead(a, { add_snapshots: [s], packs: { [t]: [p] } }), (e) => refused('bad_request')(e) && /does not add/.test((e as Error).message));
    await c.postHead(a, { add_snapshots: [held], packs: { [held]: [p] } });
    await c.postRetention(a, { op: 'hold', snapshot: held, reason: 'case 10' });
    // B adds `held` again (it saw it in storage) with another pack: merged in, never taken away.
    await c.postHead(b, { add_snapshots: [held], packs: { [held]: [p2] } });
    assert.deepEqual((await c.deleteStatus(a)).pinned, [p, p2].sort());
    // Refused whole (it removes a held snapshot): the record of `s` it carries is not made either.
    await assert.rejects(c.postHead(a, { add_snapshots: [s], remove_snapshots: [held], packs: { [s]: [p2] } }), refused('retention'));
    assert.deepEqual(await c.recordSnapshotPacks(b, { snapshot: s, packs: [p2] }), { recorded: true }, 'the refused post left no record of s');
  });

  it('an old client (snapshot-packs, then a head post without packs) still records and is still protected', async () => {
    const { a } = await twoDevices('race3');
    const [s, p, q] = [id(), id(), id()];
    await store('race3', [s], [p, q]);
    assert.deepEqual(await c.recordSnapshotPacks(a, { snapshot: s, packs: [p] }), { recorded: true });
    await c.postHead(a, { add_snapshots: [s] });
    await c.postRetention(a, { op: 'hold', snapshot: s, reason: 'case 11' });
    await assert.rejects(c.deleteObjects(a, { packs: [p] }), refused('retention'));
    assert.deepEqual(await c.deleteObjects(a, { packs: [q] }), { snapshots: 0, packs: 1 });
  });

  it('reads a head delta\'s packs strictly: only added snapshots, at most 10,000 per snapshot and in all, pack names', () => {
    const bad = (b: Record<string, unknown>, why: RegExp) => assert.throws(() => readHeadDelta(b), (e) => e instanceof VaultRefusal && e.code === 'bad_request' && why.test(e.message));
    const [s, t] = [id(), id()];
    const many = (n: number) => Array.from({ length: n }, id);
    bad({ add_snapshots: [s], packs: { [t]: [] } }, /does not add/);
    bad({ add_indexes: [s], packs: { [s]: [] } }, /does not add/);
    bad({ add_snapshots: [s], packs: [] }, /packs/);
    bad({ add_snapshots: [s], packs: { [s]: ['x'] } }, /64 hex/);
    bad({ add_snapshots: [s], packs: { [s]: many(MAX_HEAD_NAMES + 1) } }, /at most 10000/);
    bad({ add_snapshots: [s, t], packs: { [s]: many(MAX_HEAD_NAMES / 2), [t]: many(MAX_HEAD_NAMES / 2 + 1) } }, /at most 10000/);
    const ok = { add_snapshots: [s, t], packs: { [s]: many(MAX_HEAD_NAMES) } };
    assert.deepEqual(readHeadDelta(ok), ok);
  });
});
