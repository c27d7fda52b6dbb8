/** Attested TLS: the client talks only to a vault whose attestation verifies and binds the TLS key it sees. */
import assert from 'node:assert/strict';
import { request as httpsRequest, createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AttestationError, createDevCa } from '../../src/attestation/index.js';
import { isEbakError } from '../../src/errors.js';
import { VaultClient } from '../../src/vault/client/client.js';
import { createTlsIdentity } from '../../src/vault/server/tls.js';
import { lab, type Lab, type Running } from './helpers.js';

describe('attested TLS', () => {
  let l: Lab;
  let v: Running;
  before(async () => {
    l = await lab();
    v = await l.start({ tlsLifetimeSeconds: 3600 });
  });
  after(() => l.cleanup());

  it('accepts the vault when root, PCRs, nonce and TLS key all match', async () => {
    const c = await v.client();
    assert.deepEqual(Buffer.from(c.channel.document.publicKey!), v.tlsSpki());
    assert.equal((await c.status()).mode, 'simulated');
  });

  it('a changed PCR is refused, naming the PCR', async () => {
    for (const i of [0, 1, 2] as const) {
      const pcrs = { ...l.trust.pcrs, [i]: 'ab'.repeat(48) };
      await assert.rejects(VaultClient.connect(v.url, { ...l.trust, pcrs }), (e) => e instanceof AttestationError && e.check === 'pcr' && e.message.includes(`PCR${i} `));
    }
  });

  it('another root is refused', async () => {
    await assert.rejects(VaultClient.connect(v.url, { ...l.trust, root: createDevCa().root.cert }), (e) => e instanceof AttestationError && e.check === 'root');
  });

  it('an expired TLS certificate is refused with one line', async () => {
    const later = () => new Date(Date.now() + 2 * 3600 * 1000);
    await assert.rejects(VaultClient.connect(v.url, { ...l.trust, now: later }), (e) => isEbakError(e, 'ATTESTATION') && /expired/.test(e.message) && !e.message.includes('\n'));
  });

  it('an unreachable vault is EbakError VAULT', async () => {
    const dead = v.url.replace(/:\d+$/, ':1');
    await assert.rejects(VaultClient.connect(dead, l.trust), (e) => isEbakError(e, 'VAULT') && /unreachable/.test(e.message));
  });

  it('requests share kept-alive pinned connections; a vault restarted with a new TLS key is attested again before anything else is sent', async () => {
    const c = await v.client();
    for (let i = 0; i < 5; i++) await c.status();
    assert.equal(c.channel.connections, 1, 'five sequential requests, one connection');
    await Promise.all([1, 2, 3].map(() => c.status()));
    assert.ok(c.channel.connections <= 3);
    await v.stop();
    v = await l.start({ tlsLifetimeSeconds: 3600, port: v.port });
    const before = (await v.service.audit.head()).seq;
    await c.register('mallory', 'pw', Buffer.alloc(32, 1), '1'.repeat(64), 'd');
    assert.equal(c.channel.attestations, 2, 'the new key was attested');
    assert.equal((await v.service.audit.head()).seq, before + 1, 'then the registration went to the attested vault');
    c.channel.close();
  });

  it('a man in the middle relaying the genuine attestation is refused (its TLS key is not the attested one)', async () => {
    const id = createTlsIdentity(new Date(), 3600);
    const relayed: string[] = [];
    const mitm = createServer({ key: id.key, cert: id.cert, minVersion: 'TLSv1.3' }, (req, res) => {
      relayed.push(req.url!);
      httpsRequest(`${v.url}${req.url}`, { rejectUnauthorized: false, method: req.method }, (up) => {
        res.writeHead(up.statusCode!, up.headers);
        up.pipe(res);
      }).end();
    });
    await new Promise<void>((r) => mitm.listen(0, '127.0.0.1', r));
    try {
      const url = `https://127.0.0.1:${(mitm.address() as AddressInfo).port}`;
      await assert.rejects(VaultClient.connect(url, l.trust), (e) => isEbakError(e, 'ATTESTATION') && /TLS key/.test(e.message));
      assert.equal(relayed.length, 1, 'only the attestation request went out; no password message');
    } finally {
      mitm.closeAllConnections();
      mitm.close();
    }
  });
});
