/**
 * The simulated key service's TLS identity. Its certificate serial is 16
 * random octets; one whose first octet came out zero (1 in 256 after the top
 * bit was cleared) was a non-minimal INTEGER, which OpenSSL refuses, so the
 * key service failed to start (seen as a rare failure of vault test suites).
 */
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { createIdentity, serialOctets } from '../../src/kms/simulated/tls.js';

describe('the simulated key service TLS identity', () => {
  it('makes a serial that is positive and minimal whatever the random octets', () => {
    for (const first of [0x00, 0x01, 0x7f, 0x80, 0xff]) {
      const s = serialOctets(Buffer.from([first, 0x05, ...new Array<number>(14).fill(0x11)]));
      assert.equal(s.length, 16);
      assert.ok(s[0]! !== 0 && s[0]! < 0x80, `first octet ${first} → ${s[0]}`);
    }
  });

  it('gives a certificate OpenSSL accepts when the random serial starts with a zero octet', () => {
    const zeroFirst = serialOctets(Buffer.from([0x00, 0x05, ...new Array<number>(14).fill(0x11)]));
    const tls = createIdentity('127.0.0.1', zeroFirst);
    const cert = new X509Certificate(tls.cert);
    assert.ok(cert.checkPrivateKey(createPrivateKey(tls.key)));
    assert.ok(cert.checkHost('localhost'));
  });
});
