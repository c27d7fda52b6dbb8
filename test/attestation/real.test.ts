/** Real AWS-signed Nitro documents against the AWS Nitro root G1. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AWS_NITRO_ROOT_G1_SHA256, awsNitroRootG1, createDevCa, documentToJson, encodeCoseSign1, encodeDocument, loadRoot,
  parseCoseSign1, parseDocument, verifyAttestation, type VerifyOptions,
} from '../../src/attestation/index.js';
import { encode } from '../../src/attestation/cbor.js';
import { awsRootPem, failsWith, flip, loadVectors, offsetOf, type Vector } from './helpers.js';

const vectors = loadVectors();
const root = awsNitroRootG1();
const HOUR = 3600 * 1000;

const options = (v: Vector, extra: Partial<VerifyOptions> = {}): VerifyOptions =>
  ({ root, at: v.at, maxAgeSeconds: v.maxAgeSeconds, allowDebug: v.expect === 'debug', ...extra });
const parts = (v: Vector) => {
  const cose = parseCoseSign1(v.bytes);
  return { cose, doc: parseDocument(cose.payload) };
};

describe('AWS Nitro root G1', () => {
  it('the built-in root matches the published fingerprint and the fixture', () => {
    assert.equal(root.fingerprint256, AWS_NITRO_ROOT_G1_SHA256);
    assert.ok(AWS_NITRO_ROOT_G1_SHA256.startsWith('64:1A:03:21') && AWS_NITRO_ROOT_G1_SHA256.endsWith('BB:5B'));
    assert.deepEqual(loadRoot(awsRootPem()).raw, root.raw);
    assert.equal(root.subject.replace(/\n/g, ','), 'C=US,O=Amazon,OU=AWS,CN=aws.nitro-enclaves');
  });
});

describe('real documents', () => {
  for (const v of vectors) {
    describe(v.file, () => {
      it(`verifies with the expected fields (expect ${v.expect})`, () => {
        const doc = verifyAttestation(v.bytes, options(v, { pcrs: v.pcrs, nonce: Buffer.from(v.nonce, 'hex') }));
        assert.equal(new Date(doc.timestamp).toISOString(), v.timestamp);
        assert.equal(doc.moduleId, v.moduleId);
        const json = documentToJson(doc) as { nonce: string; pcrs: Record<string, string> };
        assert.equal(json.nonce, v.nonce);
        for (const i of [0, 1, 2]) assert.equal(json.pcrs[i], v.pcrs[i]);
        assert.equal(doc.cabundle.length, 4);
      });

      it('applies the debug rule', () => {
        if (v.expect === 'debug') failsWith(() => verifyAttestation(v.bytes, options(v, { allowDebug: false })), 'debug');
        else verifyAttestation(v.bytes, options(v, { allowDebug: false }));
      });

      it('round-trips: decode then re-encode gives the same bytes', () => {
        const { cose, doc } = parts(v);
        assert.equal(Buffer.compare(encodeDocument(doc), cose.payload), 0);
        assert.equal(Buffer.compare(encodeCoseSign1(cose), v.bytes), 0);
      });

      it('rejects any change to the signature', () => {
        const start = offsetOf(v.bytes, parts(v).cose.signature);
        for (let i = start; i < start + 96; i++) failsWith(() => verifyAttestation(flip(v.bytes, i), options(v)), 'signature');
      });

      it('rejects changes to signed fields', () => {
        const { doc } = parts(v);
        const fields = [doc.pcrs.get(0)!, doc.pcrs.get(4)!, doc.pcrs.get(9)!, doc.publicKey!, doc.nonce!, Buffer.from(doc.moduleId)];
        if (doc.userData) fields.push(doc.userData);
        for (const field of fields) {
          const at = offsetOf(v.bytes, field);
          for (const i of [at, at + field.length - 1]) failsWith(() => verifyAttestation(flip(v.bytes, i), options(v)), 'signature');
        }
        const ts = offsetOf(v.bytes, Uint8Array.of(0x1b)); // the timestamp's 8-byte head
        failsWith(() => verifyAttestation(flip(v.bytes, ts + 8), options(v)), 'signature');
      });

      it('rejects any change to the certificate chain', () => {
        const { doc } = parts(v);
        const leafKeyAt = offsetOf(v.bytes, doc.certificate) + doc.certificate.length - 110; // inside the leaf's signature
        failsWith(() => verifyAttestation(flip(v.bytes, leafKeyAt), options(v)), 'chain');
        for (const cert of doc.cabundle.slice(1)) {
          const sigAt = offsetOf(v.bytes, cert) + cert.length - 20; // inside the certificate's signature value
          failsWith(() => verifyAttestation(flip(v.bytes, sigAt), options(v)), 'chain');
          const tbsAt = offsetOf(v.bytes, cert) + 40; // inside the signed TBSCertificate
          failsWith(() => verifyAttestation(flip(v.bytes, tbsAt), options(v)), 'chain');
        }
        failsWith(() => verifyAttestation(flip(v.bytes, offsetOf(v.bytes, doc.cabundle[0]!) + 100), options(v)), 'root');
      });

      it('names the PCR that differs', () => {
        for (const i of [0, 1, 2]) {
          const wrong = flip(Buffer.from(v.pcrs[i]!, 'hex'), 47);
          const e = failsWith(() => verifyAttestation(v.bytes, options(v, { pcrs: { ...v.pcrs, [i]: wrong } })), 'pcr');
          assert.match(e.message, new RegExp(`PCR${i} `));
        }
        failsWith(() => verifyAttestation(v.bytes, options(v, { pcrs: { 8: new Uint8Array(48).fill(1) } })), 'pcr');
      });

      it('rejects a different nonce and times outside validity or age', () => {
        failsWith(() => verifyAttestation(v.bytes, options(v, { nonce: flip(Buffer.from(v.nonce, 'hex'), 0) })), 'nonce');
        failsWith(() => verifyAttestation(v.bytes, options(v, { at: new Date(v.at.getTime() - 3 * HOUR) })), 'validity');
        failsWith(() => verifyAttestation(v.bytes, options(v, { at: new Date(v.at.getTime() + 4 * HOUR), maxAgeSeconds: 86400 })), 'validity');
        failsWith(() => verifyAttestation(v.bytes, options(v, { at: new Date('2050-01-01T00:00:00Z'), maxAgeSeconds: 1e12 })), 'validity');
        failsWith(() => verifyAttestation(v.bytes, options(v, { maxAgeSeconds: 30 })), 'freshness');
        failsWith(() => verifyAttestation(v.bytes, options(v, { at: undefined })), 'validity'); // now: the leaf expired in 2022
      });

      it('rejects it against another root', () => {
        failsWith(() => verifyAttestation(v.bytes, options(v, { root: createDevCa(v.at).root.cert })), 'root');
      });

      it('rejects a bundle whose root is swapped for the pinned one', () => {
        // The attacker pins their own root in the bundle: the chain below no longer links to it.
        const { cose, doc } = parts(v);
        const other = createDevCa(v.at).root.cert;
        const payload = encodeDocument({ ...doc, cabundle: [other.raw, ...doc.cabundle.slice(1)] });
        const bytes = encode([cose.protectedHeader, new Map(), payload, cose.signature]);
        failsWith(() => verifyAttestation(bytes, options(v, { root: other })), 'chain');
      });
    });
  }
});
