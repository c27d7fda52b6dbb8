/**
 * PROXY protocol v2 in front of the vault's TLS (issue 19): the header's
 * parser against hand-made headers (haproxy's proxy-protocol.txt §2.2), and a
 * real vault behind a real TCP proxy that writes a v2 header and relays the
 * client's own TLS: the rate buckets follow the source the proxy names; the
 * proxy's connection without a header is refused, and so is a header from
 * an address that is not a configured proxy; a malformed `vault serve
 * --proxy-protocol-from` is a usage error. 127.0.0.2 stands for the proxy
 * (Linux routes all of 127/8 to loopback).
 */
import assert from 'node:assert/strict';
import { connect as tcp, createServer, type Server } from 'node:net';
import { connect as tls } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { VaultClient } from '../../src/vault/client/client.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { parseProxyV2, proxyList } from '../../src/vault/server/proxy.js';
import { assertCode, ebak } from '../cli/harness.js';
import { lab, type Lab, type Running } from './helpers.js';

const SIG = '0d0a0d0a000d0a515549540a';
/** A v2 header by hand: signature, version/command, family/transport, length, the address block, then any TLVs. */
function header(verCmd: number, famProto: number, block: string, tlvs = ''): Buffer {
  const body = Buffer.from(block + tlvs, 'hex');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([Buffer.from(SIG, 'hex'), Buffer.from([verCmd, famProto]), len, body]);
}
/** PROXY, TCP over IPv4: src 203.0.113.<last>:40000 → dst 10.0.0.1:443. */
const tcp4 = (last: number) => header(0x21, 0x11, `cb0071${last.toString(16).padStart(2, '0')}0a000001` + '9c4001bb');
const refusedWith = (code: string) => (e: unknown) => isEbakError(e, code as never);

describe('PROXY protocol v2: the header', () => {
  it('reads TCP over IPv4 and IPv6 sources, LOCAL and UNSPEC without one, and ignores TLVs', () => {
    assert.deepEqual(parseProxyV2(tcp4(7)), { command: 'proxy', source: { address: '203.0.113.7', port: 40000 } });
    const v6 = header(0x21, 0x21, '20010db8000000000000000000000001' + '20010db8000000000000000000000002' + '9c4001bb', '0400020000');
    assert.deepEqual(parseProxyV2(v6), { command: 'proxy', source: { address: '2001:db8::1', port: 40000 } });
    const mapped = header(0x21, 0x21, '00000000000000000000ffffc6336401' + '00000000000000000000ffff0a000001' + '9c4001bb');
    assert.equal(parseProxyV2(mapped).source?.address, '198.51.100.1', 'IPv4-mapped IPv6 keyed as IPv4');
    assert.deepEqual(parseProxyV2(header(0x20, 0x00, '')), { command: 'local' });
    assert.deepEqual(parseProxyV2(header(0x20, 0x11, 'cb007107')), { command: 'local' }, 'LOCAL: the addresses are ignored');
    assert.deepEqual(parseProxyV2(header(0x21, 0x00, '')), { command: 'proxy' });
  });

  it('refuses another signature or version, an unknown command, UDP, a short address block, a wrong length', () => {
    const bad = [
      Buffer.concat([Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')]),
      header(0x11, 0x11, 'cb0071070a0000019c4001bb'),
      header(0x22, 0x11, 'cb0071070a0000019c4001bb'),
      header(0x21, 0x12, 'cb0071070a0000019c4001bb'),
      header(0x21, 0x11, 'cb0071070a000001'),
      header(0x21, 0x21, 'cb0071070a0000019c4001bb'),
      tcp4(7).subarray(0, 20),
    ];
    for (const h of bad) assert.throws(() => parseProxyV2(h), refusedWith('CORRUPT'), h.toString('hex'));
  });

  it('takes addresses and CIDRs; anything else is a usage error (vault serve --proxy-protocol-from too)', async () => {
    const list = proxyList(['10.0.0.0/8', '127.0.0.2', '2001:db8::/32']);
    assert.equal(list.check('10.9.8.7', 'ipv4'), true);
    assert.equal(list.check('127.0.0.1', 'ipv4'), false);
    assert.equal(list.check('2001:db8::5', 'ipv6'), true);
    for (const c of ['10.0.0.0/33', 'example.com', '10.0.0.0/8/1', '']) assert.throws(() => proxyList([c]), refusedWith('USAGE'), c);
    assertCode(await ebak(['vault', 'serve', '--proxy-protocol-from', '10.0.0.0/8,10.0.0.0/33', '--json']), 1, 'USAGE');
  });
});

describe('PROXY protocol v2: a vault behind a proxy', () => {
  let l: Lab;
  let v: Running;
  const proxies: Server[] = [];
  before(async () => {
    l = await lab();
    v = await l.start({ proxyFrom: ['127.0.0.2/32'], addressRate: { burst: 3, perMinute: 1 } });
  });
  after(async () => {
    for (const p of proxies) p.close();
    await l?.cleanup();
  });

  /** A TCP proxy on 127.0.0.1 that connects from 127.0.0.2, writes `head`, and relays both ways. */
  async function proxy(head: Buffer): Promise<string> {
    const p = createServer((c) => {
      const up = tcp({ host: '127.0.0.1', port: v.port, localAddress: '127.0.0.2' });
      up.write(head);
      c.pipe(up).pipe(c);
      c.on('error', () => up.destroy());
      up.on('error', () => c.destroy());
    });
    proxies.push(p);
    await new Promise<void>((r) => p.listen(0, '127.0.0.1', r));
    return `https://127.0.0.1:${(p.address() as { port: number }).port}`;
  }

  /** A raw TLS handshake from `localAddress`, after `head` (written in the same segment as the ClientHello). */
  function handshake(localAddress: string, head?: Buffer): Promise<'secure' | 'refused'> {
    return new Promise((resolve) => {
      const socket = tcp({ host: '127.0.0.1', port: v.port, localAddress }, () => {
        socket.cork();
        if (head) socket.write(head);
        const t = tls({ socket, rejectUnauthorized: false, minVersion: 'TLSv1.3' }, () => {
          resolve('secure');
          t.destroy();
        });
        process.nextTick(() => socket.uncork());
        t.on('error', () => resolve('refused'));
        t.on('close', () => resolve('refused'));
      });
      socket.on('error', () => resolve('refused'));
    });
  }

  it("rate buckets follow the header's source: one client is limited, another behind the same proxy is not", async () => {
    const first = await VaultClient.connect(await proxy(tcp4(1)), l.trust); // the attestation request: 1 of 3
    await first.status();
    await first.status();
    await assert.rejects(first.status(), (e) => e instanceof VaultError && e.vaultCode === 'rate_limited');
    const second = await VaultClient.connect(await proxy(tcp4(2)), l.trust);
    assert.equal((await second.status()).version, 1, 'another source, its own bucket');
    const local = await VaultClient.connect(await proxy(header(0x20, 0x00, '')), l.trust);
    assert.equal((await local.status()).version, 1, 'LOCAL: the proxy\'s own address, its own bucket');
    for (const c of [first, second, local]) c.channel.close();
  });

  it('the header may share a segment with the ClientHello; the proxy without a header, or a header from elsewhere, is refused', async () => {
    assert.equal(await handshake('127.0.0.2', tcp4(3)), 'secure');
    assert.equal(await handshake('127.0.0.2'), 'refused', 'from the proxy, no header');
    assert.equal(await handshake('127.0.0.2', Buffer.from('PROXY TCP4 203.0.113.9 10.0.0.1 1 2\r\n')), 'refused', 'from the proxy, a v1 header');
    assert.equal(await handshake('127.0.0.1', tcp4(4)), 'refused', 'a header from an address that is no proxy');
    assert.equal(await handshake('127.0.0.1'), 'secure', 'a direct client is served as before');
  });
});
