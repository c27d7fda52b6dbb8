/** Strict parsing of the COSE envelope and the document, and the DER writer's known answers. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SimulatedNsm, createDevCa, issueLeaf, parseCoseSign1, parseDocument, signPayload, verifyAttestation,
} from '../../src/attestation/index.js';
import { CborError, decodeStrict, encode } from '../../src/attestation/cbor.js';
import { bitString, integer, namedBits, oid, set, time, utf8String } from '../../src/attestation/der.js';
import { pathLenConstraint } from '../../src/attestation/x509.js';
import { failsWith, loadVectors } from './helpers.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const ca = createDevCa(NOW);
const leaf = issueLeaf(ca, 'sim-format', NOW);
const good = parseDocument(parseCoseSign1(new SimulatedNsm(ca, { bundle: Buffer.from('b') }).attest({ nonce: Buffer.alloc(8) }, NOW)).payload);
const base = { ...good, certificate: leaf.cert.raw };
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The document as an ordered Map of its wire fields, for editing. */
const fields = () => new Map<string, unknown>(<[string, unknown][]>[
  ['module_id', base.moduleId], ['digest', base.digest], ['timestamp', BigInt(base.timestamp)], ['pcrs', base.pcrs],
  ['certificate', base.certificate], ['cabundle', base.cabundle], ['public_key', null], ['user_data', null], ['nonce', base.nonce],
]);
/** A validly signed document whose payload is `payload`, so only the payload can fail. */
const signed = (payload: Uint8Array) => signPayload(payload, leaf.key);
const check = (bytes: Uint8Array) => verifyAttestation(bytes, { root: ca.root.cert, at: NOW });

describe('payload strictness', () => {
  it('accepts the unedited fields', () => {
    check(signed(encode(fields())));
  });

  /** Each edit changes the fields in place, or returns a whole replacement payload. */
  const edits: [string, (m: Map<string, unknown>) => Uint8Array | void][] = [
    ['unknown field', (m) => void m.set('extra', 1)],
    ['missing field', (m) => void m.delete('nonce')],
    ['reordered fields', (m) => {
      m.delete('digest');
      m.set('digest', 'SHA384');
    }],
    ['digest SHA256', (m) => void m.set('digest', 'SHA256')],
    ['empty module_id', (m) => void m.set('module_id', '')],
    ['module_id as bytes', (m) => void m.set('module_id', Buffer.from('x'))],
    ['timestamp as text', (m) => void m.set('timestamp', '1700000000000')],
    ['timestamp in a short head', (m) => void m.set('timestamp', 5)],
    ['timestamp past Date range', (m) => void m.set('timestamp', 2n ** 63n)],
    ['PCR of 47 bytes', (m) => void m.set('pcrs', new Map(base.pcrs).set(3, new Uint8Array(47)))],
    ['PCR of 32 bytes', (m) => void m.set('pcrs', new Map([...base.pcrs].map(([i, v]) => [i, v.subarray(0, 32)])))],
    ['PCR index 32', (m) => void m.set('pcrs', new Map(base.pcrs).set(32, new Uint8Array(48)))],
    ['PCR indexes not ascending', (m) => void m.set('pcrs', new Map([...base.pcrs].reverse()))],
    ['PCR2 missing', (m) => void m.set('pcrs', new Map([...base.pcrs].filter(([i]) => i !== 2)))],
    ['pcrs as array', (m) => void m.set('pcrs', [...base.pcrs.values()])],
    ['empty cabundle', (m) => void m.set('cabundle', [])],
    ['cabundle of 9', (m) => void m.set('cabundle', Array(9).fill(base.cabundle[0]))],
    ['certificate of 1025 bytes', (m) => void m.set('certificate', new Uint8Array(1025))],
    ['empty public_key', (m) => void m.set('public_key', new Uint8Array(0))],
    ['user_data of 1025 bytes', (m) => void m.set('user_data', new Uint8Array(1025))],
    ['nonce as text', (m) => void m.set('nonce', 'abc')],
    ['payload not a map', () => encode([1])],
  ];
  for (const [name, edit] of edits) {
    it(`rejects ${name}`, () => {
      const m = fields();
      const payload = edit(m) ?? encode(m);
      failsWith(() => check(signed(payload)), 'payload');
    });
  }

  it('rejects non-canonical CBOR in the payload', () => {
    const p = encode(fields());
    assert.equal(p[0], 0xa9); // map of 9
    const cases = [
      Uint8Array.from([0xb8, 0x09, ...p.subarray(1)]), // non-minimal map length
      Uint8Array.from([0xbf, ...p.subarray(1), 0xff]), // indefinite-length map
      Uint8Array.from([0xd9, 0xd9, 0xf7, ...p]), // self-described CBOR tag
      Uint8Array.from([...p, 0x00]), // trailing byte
    ];
    for (const payload of cases) failsWith(() => check(signed(payload)), 'payload');
  });
});

describe('COSE envelope strictness', () => {
  const payload = encode(fields());
  const sig = parseCoseSign1(signed(payload)).signature;
  const cases = <[string, unknown][]>[
    ['tag 18', null],
    ['alg ES256', [encode(new Map([[1, -7]])), new Map(), payload, sig]],
    ['unprotected header', [encode(new Map([[1, -35]])), new Map([[4, Buffer.from('kid')]]), payload, sig]],
    ['short signature', [encode(new Map([[1, -35]])), new Map(), payload, sig.subarray(0, 95)]],
    ['five items', [encode(new Map([[1, -35]])), new Map(), payload, sig, null]],
    ['payload as map', [encode(new Map([[1, -35]])), new Map(), fields(), sig]],
  ];
  for (const [name, value] of cases) {
    it(`rejects ${name}`, () => {
      const bytes = value === null ? Uint8Array.from([0xd2, ...signed(payload)]) : encode(value);
      failsWith(() => check(bytes), 'cose');
    });
  }
  it('rejects an oversized document', () => {
    failsWith(() => check(new Uint8Array(40_000)), 'cose');
  });
});

describe('strict CBOR reader', () => {
  it('matches cbor-x on the real documents and rejects what it must', () => {
    for (const v of loadVectors()) assert.equal(Buffer.compare(encode(decodeStrict(v.bytes)), v.bytes), 0);
    for (const bad of ['1800', '5f4100ff', 'a20000 0001'.replace(' ', ''), 'f93c00', 'f5', '6180', 'c11a00000000']) {
      assert.throws(() => decodeStrict(Buffer.from(bad, 'hex')), CborError, bad);
    }
    assert.equal(decodeStrict(Buffer.from('3822', 'hex')), -35);
    assert.equal(decodeStrict(Buffer.from('1b0000000100000000', 'hex')), 2n ** 32n);
  });
});

describe('DER writer known answers (X.690)', () => {
  it('encodes the primitives minimally', () => {
    assert.equal(hex(oid('1.2.840.10045.4.3.3')), '06082a8648ce3d040303'); // ecdsa-with-SHA384
    assert.equal(hex(integer(0x80n)), '02020080');
    assert.equal(hex(integer(Uint8Array.of(0, 0, 1))), '020101');
    assert.equal(hex(namedBits([0, 5, 6])), '03020186'); // the AWS root's KeyUsage bytes
    assert.equal(hex(namedBits([0])), '03020780');
    assert.equal(hex(bitString(Uint8Array.of(0xff))), '030200ff');
    assert.equal(hex(time(new Date('2049-12-31T23:59:59Z'))), '170d3439313233313233353935395a');
    assert.equal(hex(time(new Date('2050-01-01T00:00:00Z'))), '180f32303530303130313030303030305a');
    assert.equal(hex(utf8String('a'.repeat(200))).slice(0, 6), '0c81c8');
    assert.equal(hex(set(Uint8Array.of(2, 1, 9), Uint8Array.of(2, 1, 1))), '3106020101020109');
  });

  it('reads pathLen from the real chain (2, 1, 0) and the dev chain', () => {
    const real = parseDocument(parseCoseSign1(loadVectors()[0]!.bytes).payload);
    assert.deepEqual(real.cabundle.map(pathLenConstraint), [undefined, 2, 1, 0]);
    assert.deepEqual([ca.root.cert.raw, ca.intermediate.cert.raw, leaf.cert.raw].map(pathLenConstraint), [1, 0, undefined]);
  });
});
