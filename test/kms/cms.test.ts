// CMS recipient envelopes against `openssl cms`: openssl's EnvelopedData (DER, and BER with -stream) opens with
// openRecipientEnvelope, ours decrypts with `openssl cms -decrypt`; every other shape is refused with a code.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRecipientEnvelope, sealRecipientEnvelope } from '../../src/kms/cms.js';

const KMS_CIPHER = ['-aes-256-cbc', '-keyid'];
const keyopts = (...opts: string[]) => opts.flatMap((o) => ['-keyopt', o]);
const KMS_OAEP = keyopts('rsa_padding_mode:oaep', 'rsa_oaep_md:sha256', 'rsa_mgf1_md:sha256');
let dir: string;
let cert: string;
let keyFile: string;
let spki: Buffer;
const key = () => createPrivateKey(readFileSync(keyFile));
const openssl = (args: string[], input?: Buffer) => execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });

/** openssl cms -encrypt to the throwaway certificate (or `certs`); key options follow each -recip they apply to. */
function opensslEnvelope(plaintext: Buffer, options: string[], oaep: string[], certs = [cert]): Buffer {
  return openssl(['cms', '-encrypt', '-binary', '-outform', 'DER', ...options, ...certs.flatMap((c) => ['-recip', c, ...oaep])], plaintext);
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'ebak-cms-'));
  keyFile = join(dir, 'key.pem');
  cert = join(dir, 'cert.pem');
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=ebak cms test', '-days', '1', '-keyout', keyFile, '-out', cert]);
  spki = new X509Certificate(readFileSync(cert)).publicKey.export({ type: 'spki', format: 'der' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('interoperates with openssl cms', () => {
  it('opens openssl EnvelopedData in the KMS shape, DER and streamed BER (indefinite lengths, segmented content)', () => {
    for (const size of [0, 1, 15, 16, 1000]) {
      const plaintext = randomBytes(size);
      assert.deepEqual(openRecipientEnvelope(opensslEnvelope(plaintext, KMS_CIPHER, KMS_OAEP), key()), plaintext, `DER ${size}`);
      const ber = opensslEnvelope(plaintext, ['-stream', ...KMS_CIPHER], KMS_OAEP);
      assert.equal(ber[1], 0x80, 'indefinite length');
      assert.deepEqual(openRecipientEnvelope(ber, key()), plaintext, `BER ${size}`);
    }
  });

  it('seals envelopes openssl cms -decrypt opens', () => {
    for (const size of [1, 16, 32, 4096]) {
      const plaintext = randomBytes(size);
      const file = join(dir, 'ours.der');
      writeFileSync(file, sealRecipientEnvelope(plaintext, spki));
      assert.deepEqual(openssl(['cms', '-decrypt', '-binary', '-inform', 'DER', '-in', file, '-recip', cert, '-inkey', keyFile]), plaintext, `size ${size}`);
    }
  });
});

describe('refuses anything but the KMS shape', () => {
  const plaintext = Buffer.from('a secret');

  it('other algorithms, recipient identifiers and recipient counts: CORRUPT', () => {
    const shapes: [string, string[], string[]][] = [
      ['PKCS#1 v1.5 key transport', KMS_CIPHER, []],
      ['OAEP with SHA-1', KMS_CIPHER, keyopts('rsa_padding_mode:oaep')],
      ['OAEP-SHA-256 with MGF1-SHA-1', KMS_CIPHER, keyopts('rsa_padding_mode:oaep', 'rsa_oaep_md:sha256', 'rsa_mgf1_md:sha1')],
      ['AES-128-CBC content', ['-aes-128-cbc', '-keyid'], KMS_OAEP],
      ['AES-256-GCM (AuthEnvelopedData)', ['-aes-256-gcm', '-keyid'], KMS_OAEP],
      ['issuerAndSerialNumber (version 0)', ['-aes-256-cbc'], KMS_OAEP],
    ];
    for (const [name, options, oaep] of shapes) assert.throws(() => openRecipientEnvelope(opensslEnvelope(plaintext, options, oaep), key()), { code: 'CORRUPT' }, name);
    const second = join(dir, 'second.pem');
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=second', '-days', '1', '-keyout', join(dir, 'second.key'), '-out', second]);
    assert.throws(() => openRecipientEnvelope(opensslEnvelope(plaintext, KMS_CIPHER, KMS_OAEP, [cert, second]), key()), { code: 'CORRUPT' }, 'two recipients');
  });

  it('garbage, truncation, a foreign content type and trailing bytes: CORRUPT', () => {
    const good = sealRecipientEnvelope(plaintext, spki);
    const ber = opensslEnvelope(plaintext, ['-stream', ...KMS_CIPHER], KMS_OAEP);
    const trailing = [Buffer.concat([good, Buffer.of(0)]), Buffer.concat([ber, Buffer.of(0x04, 0x00)])];
    for (const bad of [Buffer.alloc(0), randomBytes(64), good.subarray(0, good.length - 20), Buffer.from([0x30, 0x03, 0x06, 0x01, 0x00]), ...trailing]) {
      assert.throws(() => openRecipientEnvelope(bad, key()), { code: 'CORRUPT' });
    }
  });

  it('another private key, a damaged key or bad padding: AUTH_FAILED', () => {
    const good = sealRecipientEnvelope(plaintext, spki);
    assert.throws(() => openRecipientEnvelope(good, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey), { code: 'AUTH_FAILED' });
    // Bad padding, for certain: one bit of the IV's last byte turns the last plaintext byte, the
    // 0x08 of 'a secret''s padding, into 0x09. (Flipping the ciphertext instead makes a random
    // block, whose padding is valid about 1 time in 256.)
    const padding = Buffer.from(good);
    const aes256cbc = Buffer.from([0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2a, 0x04, 0x10]);
    const iv = padding.indexOf(aes256cbc) + aes256cbc.length;
    assert.ok(iv > aes256cbc.length, 'the AES-256-CBC identifier and its IV are in the envelope');
    padding[iv + 15]! ^= 1;
    assert.throws(() => openRecipientEnvelope(padding, key()), { code: 'AUTH_FAILED' });
    const encryptedKey = Buffer.from(good);
    encryptedKey[good.indexOf(Buffer.from([0x04, 0x82, 0x01, 0x00])) + 10]! ^= 1; // inside the 256-byte encryptedKey
    assert.throws(() => openRecipientEnvelope(encryptedKey, key()), { code: 'AUTH_FAILED' });
  });
});

describe('byte flips', () => {
  it('every single-bit flip of an envelope is refused with CORRUPT or AUTH_FAILED, or opens (CBC has no integrity)', () => {
    const plaintext = Buffer.from('a secret that spans two AES blocks');
    for (const envelope of [sealRecipientEnvelope(plaintext, spki), opensslEnvelope(plaintext, ['-stream', ...KMS_CIPHER], KMS_OAEP)]) {
      const k = key();
      let refused = 0;
      for (let i = 0; i < envelope.length; i++) {
        const bad = Buffer.from(envelope);
        bad[i]! ^= 0x04;
        try {
          openRecipientEnvelope(bad, k);
        } catch (e) {
          assert.ok(['CORRUPT', 'AUTH_FAILED'].includes((e as { code?: string }).code ?? ''), `offset ${i}: ${String(e)}`);
          refused++;
        }
      }
      // What opens is the subjectKeyIdentifier (not compared), the IV and the first content block.
      assert.ok(refused > envelope.length - 80, `${refused} of ${envelope.length} refused`);
    }
  });
});
