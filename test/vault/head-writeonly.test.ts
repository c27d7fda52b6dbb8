/**
 * What a write-only device may post to the repository head, against a real
 * vault (SoftHSM, the simulated key service, real TLS) and a real local
 * repository directory (docs/vault.md "Repository head", write-only
 * additions): a write-only session posting snapshot names that were never
 * stored no longer makes a full device's check raise ROLLBACK; the full
 * device is warned, naming the device (to the write-only host itself its
 * own names missing stay a rollback); what the write-only device stored
 * for real is confirmed by the full device's session (and is a rollback
 * once confirmed and deleted); the per-device bound is refused; revoking
 * the device forgets its unconfirmed names, audited.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EbakError } from '../../src/errors.js';
import { checkHead } from '../../src/keys/head.js';
import { LocalBackend } from '../../src/storage/local.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { HeadClient } from '../../src/vault/client/head.js';
import { MAX_UNCONFIRMED } from '../../src/vault/server/head.js';
import { K, RECOVERY, lab, type Lab, type Running } from './helpers.js';

const name = () => randomBytes(32).toString('hex');

describe('write-only additions to the repository head', () => {
  let l: Lab;
  let v: Running;
  let dir: string;
  before(async () => {
    l = await lab();
    v = await l.start();
    dir = await mkdtemp(join(tmpdir(), 'ebak-headwo-'));
  });
  after(async () => {
    await l.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('fake names from a write-only device raise no rollback; real ones are confirmed; revocation forgets the rest', async () => {
    const c = await v.client();
    const owner = await c.register('wanda', 'pw', K, RECOVERY, 'owner');
    const added = await c.addWriteOnly(owner.token, 'nas', 'AQID', await c.stepUp(owner.token, 'wanda', 'pw'));
    const wo = await c.enroll(added.enrollment);
    const full = new HeadClient(c, owner.token, 'wanda');
    const woHead = new HeadClient(c, wo.token, 'wanda', true);
    const backend = new LocalBackend(join(dir, 'repo'));
    await backend.create();
    const stored = name();
    await writeFile(join(dir, 'repo', 'snapshots', stored), 'x');

    const fakes = [name(), name()];
    await woHead.post({ add_snapshots: [stored, ...fakes], add_indexes: [name()] });
    const warnings: string[] = [];
    const head = await checkHead(full, backend, (m) => warnings.push(m));
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0]!, new RegExp(`^3 object\\(s\\) posted .* write-only device\\(s\\) ${added.device.id} are not in storage`));
    await head.flush();
    const h = await full.fetch();
    assert.deepEqual(Object.keys(h.unconfirmed_snapshots).sort(), [...fakes].sort(), 'the stored snapshot is confirmed by the full device');
    assert.equal(stored in h.unconfirmed_snapshots, false);

    // Confirmed, its loss is a rollback again.
    await unlink(join(dir, 'repo', 'snapshots', stored));
    await assert.rejects(checkHead(full, backend, () => {}), (e) => (e as EbakError).code === 'ROLLBACK');
    await writeFile(join(dir, 'repo', 'snapshots', stored), 'x');

    // To the write-only host itself its own names missing are a rollback (it knows what it stored).
    await assert.rejects(checkHead(woHead, backend, () => {}), (e) => (e as EbakError).code === 'ROLLBACK');

    await c.revoke(owner.token, added.device.id, await c.stepUp(owner.token, 'wanda', 'pw'));
    const after = await full.fetch();
    assert.deepEqual([after.unconfirmed_snapshots, after.unconfirmed_indexes, after.snapshots, after.removed_snapshots], [{}, {}, [stored], []]);
    const quiet: string[] = [];
    await checkHead(full, backend, (m) => quiet.push(m));
    assert.deepEqual(quiet, []);
    const forgot = ((await c.audit(owner.token)) as { type: string; detail: { forgotten?: number; of?: string } }[]).filter((e) => e.type === 'head.update' && e.detail.forgotten !== undefined);
    assert.deepEqual(forgot.map((e) => [e.detail.forgotten, e.detail.of]), [[3, added.device.id]]);
  });

  it(`a write-only device may hold at most ${MAX_UNCONFIRMED} unconfirmed names (forbidden); a full device is not bounded so`, async () => {
    const c = await v.client();
    const owner = await c.register('xena', 'pw', K, RECOVERY, 'owner');
    const wo = await c.enroll((await c.addWriteOnly(owner.token, 'nas', 'AQID', await c.stepUp(owner.token, 'xena', 'pw'))).enrollment);
    const woHead = new HeadClient(c, wo.token, 'xena', true);
    await woHead.post({ add_snapshots: Array.from({ length: MAX_UNCONFIRMED }, name) });
    await assert.rejects(woHead.post({ add_snapshots: [name()] }), (e) => e instanceof VaultError && e.vaultCode === 'forbidden');
    await new HeadClient(c, owner.token, 'xena').post({ add_snapshots: [name()] });
  });
});
