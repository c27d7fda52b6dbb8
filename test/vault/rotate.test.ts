/**
 * `POST /v1/rotate` against a real vault (SoftHSM, the simulated key
 * service, real TLS), without the CLI (test/cli/rotate-vault.test.ts covers
 * the whole rotation): a step-up is required and is the caller's own; the
 * account's envelope is replaced (the password then opens the new key), the
 * link envelopes are stored and released with the device key, every live
 * write-only device is revoked and its sealed credential erased in the same
 * request, and one `key.rotate` audit entry says so. A write-only session
 * and malformed bodies are refused, and a refused request changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MAX_LINKS } from '../../src/vault/protocol.js';
import { K, RECOVERY, lab, type Lab, type Running, refused } from './helpers.js';

const K2 = Buffer.alloc(32, 9);
const LINKS = [Buffer.alloc(60, 1).toString('base64url'), Buffer.alloc(60, 2).toString('base64url')];

interface Entry { type: string; detail: Record<string, unknown> }

describe('vault POST /v1/rotate', () => {
  let l: Lab;
  let v: Running;
  before(async () => {
    l = await lab();
    v = await l.start();
  });
  after(() => l.cleanup());

  it('needs a step-up of the calling device; a refused rotation changes nothing', async () => {
    const c = await v.client();
    const owner = await c.register('rita', 'pw', K, RECOVERY, 'owner');
    const other = (await c.login('rita', 'pw', 'other')).session;
    const body = (stepUp: string) => ({ envelope: 'AAAA', links: LINKS, step_up: stepUp });
    await assert.rejects(c.channel.call('POST', '/v1/rotate', { envelope: 'AAAA', links: LINKS }, owner.token), refused('bad_request'), 'no step_up field');
    await assert.rejects(c.channel.call('POST', '/v1/rotate', body('AAAA'), owner.token), refused('step_up_required'));
    const othersGrant = await c.stepUp(other.token, 'rita', 'pw');
    await assert.rejects(c.channel.call('POST', '/v1/rotate', body(othersGrant), owner.token), refused('step_up_required'), 'a grant belongs to the device that logged in');
    assert.deepEqual((await c.login('rita', 'pw', 'again')).masterKey, K, 'the envelope is unchanged');
    assert.equal('links' in (await c.deviceKey(owner.token, 'read')), false);
    assert.equal(((await c.audit(owner.token)) as Entry[]).some((e) => e.type === 'key.rotate'), false);
  });

  it('replaces the envelope, stores the links, revokes every write-only device and erases its credential, and audits it', async () => {
    const c = await v.client();
    const owner = await c.register('sam', 'pw', K, RECOVERY, 'owner');
    const spare = (await c.login('sam', 'pw', 'spare')).session;
    const added = await c.addWriteOnly(owner.token, 'nas', 'AQID', await c.stepUp(owner.token, 'sam', 'pw'));
    const enrolled = await c.enroll(added.enrollment);
    const pending = await c.addWriteOnly(owner.token, 'later', 'BAUG', await c.stepUp(owner.token, 'sam', 'pw'));
    assert.equal((await c.credential(enrolled.token)).credential, 'AQID');
    await assert.rejects(c.channel.call('POST', '/v1/rotate', { envelope: 'AAAA', links: LINKS, step_up: 'AAAA' }, enrolled.token), refused('write_only'));

    const r = await c.rotate(owner.token, 'sam', 'pw', K2, LINKS);
    assert.deepEqual(r.retired.map((d) => [d.name, d.kind, typeof d.revoked_at]).sort(), [['later', 'write-only', 'string'], ['nas', 'write-only', 'string']]);
    assert.deepEqual((await c.login('sam', 'pw', 'after')).masterKey, K2, 'the password opens the new key');
    for (const token of [owner.token, spare.token]) assert.deepEqual((await c.deviceKey(token, 'read')).links, LINKS, 'full devices stay live and get the links');
    await assert.rejects(c.credential(enrolled.token), refused('unauthorized'), 'the write-only device is revoked');
    await assert.rejects(c.enroll(pending.enrollment), refused('unauthorized'), 'one awaiting enrollment too');
    const list = await c.devices(owner.token);
    assert.deepEqual(list.filter((d) => d.revoked_at !== undefined).map((d) => d.name).sort(), ['later', 'nas']);
    for (const id of [added.device.id, pending.device.id]) {
      const rec = await v.state.read<{ credential?: string }>(`wo/sam/${id}`);
      assert.deepEqual(rec?.value, { format: 1, device: id }, 'the sealed credential is erased');
    }
    const rotations = ((await c.audit(owner.token)) as Entry[]).filter((e) => e.type === 'key.rotate');
    assert.equal(rotations.length, 1);
    assert.equal(rotations[0]!.detail.device, owner.device_id);
    assert.equal(rotations[0]!.detail.links, LINKS.length);
    assert.deepEqual([...(rotations[0]!.detail.retired as string[])].sort(), [added.device.id, pending.device.id].sort());

    // A second rotation retires nobody (the revoked stay revoked) and replaces the links.
    const again = await c.rotate(owner.token, 'sam', 'pw', K, [LINKS[0]!]);
    assert.deepEqual(again.retired, []);
    assert.deepEqual((await c.deviceKey(owner.token, 'read')).links, [LINKS[0]]);
  });

  it('refuses malformed bodies (bad_request) without changing anything', async () => {
    const c = await v.client();
    const owner = await c.register('tom', 'pw', K, RECOVERY, 'owner');
    const grant = await c.stepUp(owner.token, 'tom', 'pw');
    const bad = [
      { envelope: 'AAAA', links: [], step_up: grant },
      { envelope: 'AAAA', links: Array.from({ length: MAX_LINKS + 1 }, () => 'AAAA'), step_up: grant },
      { envelope: 'AAAA', links: 'AAAA', step_up: grant },
      { envelope: 'AAAA', links: ['not base64url!'], step_up: grant },
      { envelope: 'A'.repeat(513), links: LINKS, step_up: grant },
      { envelope: 7, links: LINKS, step_up: grant },
      { links: LINKS, step_up: grant },
      { envelope: 'AAAA', links: LINKS, step_up: grant, extra: 1 },
      { envelope: 'AAAA', links: [7], step_up: grant },
    ];
    for (const body of bad) await assert.rejects(c.channel.call('POST', '/v1/rotate', body, owner.token), refused('bad_request'), JSON.stringify(body).slice(0, 80));
    await assert.rejects(c.channel.call('POST', '/v1/rotate', { envelope: 'AAAA', links: LINKS, step_up: grant }), refused('unauthorized'), 'no token');
    assert.deepEqual((await c.login('tom', 'pw', 'again')).masterKey, K);
    assert.equal(((await c.audit(owner.token)) as Entry[]).some((e) => e.type === 'key.rotate'), false);
  });
});
