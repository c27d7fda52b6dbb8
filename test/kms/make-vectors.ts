/**
 * Regenerates test/kms/vectors/vectors.json from the current implementation.
 * Run only when a format changes (a new blob version), then review the diff:
 *   npx tsc -p . && node dist/test/kms/make-vectors.js
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { sealRecipientEnvelope } from '../../src/kms/cms.js';
import { sealBlob } from '../../src/kms/simulated/blob.js';
import { VECTORS_URL, fixedRandom, loadVectors, type BlobVector, type EnvelopeVector } from './vector-kit.js';

const stream = (label: string, n: number) => Buffer.concat([0, 1].map((i) => createHash('sha512').update(`${label} ${i}`).digest())).subarray(0, n).toString('hex');
// Keep the RSA key of an existing file, so regenerating changes only what the code changed.
const pem = existsSync(VECTORS_URL) ? loadVectors().envelopes[0]!.private_key_pkcs8_pem
  : generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const spki = createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });

function envelope(name: string, plaintext: Buffer, tamper?: (b: Buffer) => void): EnvelopeVector {
  const random = stream(`ebak kms vector ${name}`, 80);
  const sealed = sealRecipientEnvelope(plaintext, spki, fixedRandom(random));
  tamper?.(sealed);
  return { name, expect: tamper ? 'AUTH_FAILED' : 'success', private_key_pkcs8_pem: pem, random, plaintext: plaintext.toString('hex'), envelope: sealed.toString('hex') };
}

function blob(name: string, seal: Record<string, string>, open: Record<string, string>, expect: BlobVector['expect'] = 'success'): BlobVector {
  const material = stream(`ebak kms key ${name}`, 32);
  const nonce = stream(`ebak kms nonce ${name}`, 12);
  const keyId = '0f1e2d3c-4b5a-4697-8877-665544332211';
  const plaintext = Buffer.from('the vault seal key, 32 bytes lng');
  const b = sealBlob(Buffer.from(material, 'hex'), keyId, plaintext, seal, Buffer.from(nonce, 'hex'));
  return { name, expect, material, key_id: keyId, seal_context: seal, context: open, nonce, plaintext: plaintext.toString('hex'), blob: b.toString('hex') };
}

const last = (b: Buffer) => { b[b.length - 1]! ^= 0x01; }; // last content block: the CBC padding breaks
const envelopes = [
  envelope('data key', Buffer.from(stream('a data key', 32), 'hex')),
  envelope('one block exactly', Buffer.alloc(16, 0x41)),
  envelope('bad padding', Buffer.from('pin 1234'), last),
];
const blobs = [
  blob('with context', { purpose: 'vault-seal', 'é': 'ü' }, { 'é': 'ü', purpose: 'vault-seal' }),
  blob('empty context', {}, {}),
  blob('wrong context', { purpose: 'vault-seal' }, { purpose: 'vault-opaque' }, 'AUTH_FAILED'),
];
writeFileSync(VECTORS_URL, JSON.stringify({ envelopes, blobs }, null, 2) + '\n');
console.log(`wrote ${envelopes.length} envelopes and ${blobs.length} blobs`);
