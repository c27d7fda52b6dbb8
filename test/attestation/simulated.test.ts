/** The simulated platform: dev CA, simulated NSM, measure(), and the verifier against them. */
import assert from 'node:assert/strict';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  SimulatedNsm, awsNitroRootG1, createDevCa, encodeDocument, issueLeaf, loadDevCa, measure, parseCoseSign1,
  parseDocument, saveDevCa, signPayload, verifyAttestation, type AttestationDocument, type DevCa,
} from '../../src/attestation/index.js';
import { isEbakError } from '../../src/errors.js';
import { buildCertificate, type Name } from '../../src/attestation/x509.js';
import { failsWith } from './helpers.js';

const NOW = new Date('2026-03-01T12:00:00.250Z');
const bundle = Buffer.from('console.log("vault v1")');
const ca = createDevCa(NOW);
const nsm = new SimulatedNsm(ca, { bundle });
const tlsKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
const nonce = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
const doc = nsm.attest({ publicKey: tlsKey, userData: Buffer.from('hello'), nonce }, NOW);
const m = measure(bundle);
const pinned = { 0: m.PCR0, 1: m.PCR1, 2: m.PCR2 };
const ok = { root: ca.root.cert, at: NOW, pcrs: pinned, nonce };
const parsed = () => parseDocument(parseCoseSign1(doc).payload);

/** Signs an edited document with a fresh leaf so that only the edit is wrong. */
function resign(edit: Partial<AttestationDocument>, at = NOW, leafCa: DevCa = ca): Uint8Array {
  const leaf = issueLeaf(leafCa, 'sim-test', at);
  const payload = encodeDocument({ ...parsed(), certificate: leaf.cert.raw, ...edit });
  return signPayload(payload, leaf.key);
}

describe('measure', () => {
  it('gives nitro-cli style hex SHA-384 PCRs, PCR0 = SHA-384 of the bundle', () => {
    assert.equal(m.PCR0, createHash('sha384').update(bundle).digest('hex'));
    for (const pcr of [m.PCR0, m.PCR1, m.PCR2]) assert.match(pcr, /^[0-9a-f]{96}$/);
    assert.notEqual(m.PCR0, m.PCR2);
    const other = measure(Buffer.from('console.log("vault v2")'));
    assert.notEqual(other.PCR0, m.PCR0);
    assert.notEqual(other.PCR2, m.PCR2);
    assert.equal(other.PCR1, m.PCR1);
  });
});

describe('simulated documents', () => {
  it('verify against the dev root with pinned PCRs, nonce, public key and user data', () => {
    const d = verifyAttestation(doc, ok);
    assert.equal(Buffer.compare(d.publicKey!, tlsKey), 0);
    assert.equal(Buffer.from(d.userData!).toString(), 'hello');
    assert.equal(d.timestamp, NOW.getTime());
    assert.equal(d.moduleId, nsm.moduleId);
    assert.deepEqual([...d.pcrs.keys()], [...Array(16).keys()]);
    assert.equal(d.cabundle.length, 2);
  });

  it('are refused against the AWS root', () => {
    failsWith(() => verifyAttestation(doc, { ...ok, root: awsNitroRootG1() }), 'root');
  });

  it('are in the Nitro wire format and round-trip', () => {
    const cose = parseCoseSign1(doc);
    assert.equal(Buffer.from(doc.subarray(0, 7)).toString('hex'), '8444a1013822a0'); // [h'a1013822', {}, ...
    assert.equal(Buffer.compare(encodeDocument(parsed()), cose.payload), 0);
  });

  it('check nonce, PCRs and freshness', () => {
    failsWith(() => verifyAttestation(doc, { ...ok, nonce: Buffer.alloc(16) }), 'nonce');
    failsWith(() => verifyAttestation(nsm.attest({}, NOW), ok), 'nonce');
    const e = failsWith(() => verifyAttestation(doc, { ...ok, pcrs: { ...pinned, 2: measure(Buffer.from('x')).PCR2 } }), 'pcr');
    assert.match(e.message, /PCR2 /);
    failsWith(() => verifyAttestation(doc, { ...ok, at: new Date(NOW.getTime() + 301_000) }), 'freshness');
    verifyAttestation(doc, { ...ok, at: new Date(NOW.getTime() + 299_000) });
    // 61 s before the document: beyond the skew for the leaf's notBefore too.
    failsWith(() => verifyAttestation(doc, { ...ok, at: new Date(NOW.getTime() - 61_000) }), 'validity', 'freshness');
    verifyAttestation(doc, { ...ok, at: new Date(NOW.getTime() - 59_000) });
    const future = resign({ timestamp: NOW.getTime() + 120_000 }, new Date(NOW.getTime() - 3600_000));
    failsWith(() => verifyAttestation(future, ok), 'freshness');
    verifyAttestation(future, { ...ok, maxSkewSeconds: 121 });
  });

  it('refuse pinned PCRs given in a bad shape', () => {
    assert.throws(() => verifyAttestation(doc, { ...ok, pcrs: { 0: 'abc' } }), (e) => isEbakError(e, 'USAGE'));
    assert.throws(() => verifyAttestation(doc, { ...ok, pcrs: { 32: m.PCR0 } }), (e) => isEbakError(e, 'USAGE'));
  });

  it('re-issue the leaf before it expires, each document verifying at its own time', () => {
    const later = new Date(NOW.getTime() + 2.5 * 3600 * 1000);
    const second = nsm.attest({ nonce }, later);
    const leafOf = (bytes: Uint8Array) => parseDocument(parseCoseSign1(bytes).payload).certificate;
    assert.notEqual(Buffer.compare(leafOf(second), leafOf(doc)), 0);
    verifyAttestation(second, { ...ok, at: later });
    assert.equal(Buffer.compare(leafOf(nsm.attest({}, later)), leafOf(second)), 0); // reused while fresh
  });

  it('refuse oversized request fields', () => {
    assert.throws(() => nsm.attest({ nonce: Buffer.alloc(1025) }, NOW), (e) => isEbakError(e, 'USAGE'));
    assert.throws(() => nsm.attest({ publicKey: Buffer.alloc(0) }, NOW), (e) => isEbakError(e, 'USAGE'));
  });
});

describe('debug rule', () => {
  const zero = new Map(parsed().pcrs);
  for (const i of [0, 1, 2]) zero.set(i, new Uint8Array(48));
  const debugDoc = resign({ pcrs: zero });

  it('refuses PCR0/1/2 all zero unless allowDebug', () => {
    failsWith(() => verifyAttestation(debugDoc, { root: ca.root.cert, at: NOW }), 'debug');
    verifyAttestation(debugDoc, { root: ca.root.cert, at: NOW, allowDebug: true });
  });

  it('is not triggered by one zero PCR', () => {
    const one = new Map(parsed().pcrs).set(1, new Uint8Array(48));
    verifyAttestation(resign({ pcrs: one }), { root: ca.root.cert, at: NOW });
  });
});

describe('certificate chain rules', () => {
  const key = () => generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const name = (cn: string): Name => [['CN', cn]];
  const day = 24 * 3600 * 1000;
  const span = { notBefore: new Date(NOW.getTime() - day - 250), notAfter: new Date(NOW.getTime() + day - 250) };
  const rootKey = key();
  const rootDer = (pathLen?: number) => buildCertificate({
    subject: name('r'), issuer: name('r'), subjectKey: rootKey.publicKey, issuerKey: rootKey.privateKey,
    issuerPublicKey: rootKey.publicKey, ...span, ca: pathLen === undefined ? {} : { pathLen },
  });
  /** root → intermediate (CA or not) → leaf, returned as a document signed by the leaf. */
  function chainDoc(root: Uint8Array, interCa: boolean, signer = rootKey.privateKey): Uint8Array {
    const inter = key();
    const interDer = buildCertificate({
      subject: name('i'), issuer: name('r'), subjectKey: inter.publicKey, issuerKey: signer,
      issuerPublicKey: rootKey.publicKey, ...span, ca: interCa ? {} : false,
    });
    const leaf = key();
    const leafDer = buildCertificate({
      subject: name('l'), issuer: name('i'), subjectKey: leaf.publicKey, issuerKey: inter.privateKey,
      issuerPublicKey: inter.publicKey, ...span, ca: false,
    });
    const payload = encodeDocument({ ...parsed(), certificate: leafDer, cabundle: [root, interDer] });
    return signPayload(payload, leaf.privateKey);
  }
  const verifyWith = (root: Uint8Array, bytes: Uint8Array) => verifyAttestation(bytes, { root: new X509Certificate(root), at: NOW });

  it('accepts a well-formed chain', () => {
    const r = rootDer();
    verifyWith(r, chainDoc(r, true));
  });
  it('enforces pathLen', () => {
    const r = rootDer(0);
    failsWith(() => verifyWith(r, chainDoc(r, true)), 'chain');
  });
  it('requires CA basic constraints on issuers', () => {
    const r = rootDer();
    failsWith(() => verifyWith(r, chainDoc(r, false)), 'chain');
  });
  it('requires each certificate to be signed by its issuer', () => {
    const r = rootDer();
    failsWith(() => verifyWith(r, chainDoc(r, true, key().privateKey)), 'chain');
  });
  it('requires every certificate to be valid at the document time', () => {
    const young = issueLeaf(ca, 'sim-young', new Date(NOW.getTime() + 10_000));
    const payload = encodeDocument({ ...parsed(), certificate: young.cert.raw });
    failsWith(() => verifyAttestation(signPayload(payload, young.key), ok), 'validity');
  });
  it('requires the COSE signature to come from the leaf', () => {
    const payload = encodeDocument(parsed());
    failsWith(() => verifyAttestation(signPayload(payload, issueLeaf(ca, 'other', NOW).key), ok), 'signature');
  });
});

describe('dev CA persistence', () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const tmp = async () => {
    const d = await mkdtemp(join(tmpdir(), 'ebak-devca-'));
    dirs.push(d);
    return join(d, 'ca');
  };

  it('saves PEM files (keys 0600), loads them back, and the loaded CA signs verifiable documents', async () => {
    const dir = await tmp();
    await saveDevCa(ca, dir);
    assert.equal((await stat(join(dir, 'root.key.pem'))).mode & 0o777, 0o600);
    assert.match(await readFile(join(dir, 'root.pem'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    const loaded = await loadDevCa(dir);
    assert.equal(loaded.root.cert.fingerprint256, ca.root.cert.fingerprint256);
    const bytes = new SimulatedNsm(loaded, { bundle }).attest({ nonce }, NOW);
    verifyAttestation(bytes, ok);
  });

  it('refuses to overwrite, reports missing and inconsistent CAs', async () => {
    const dir = await tmp();
    await saveDevCa(ca, dir);
    await assert.rejects(saveDevCa(ca, dir), (e) => isEbakError(e, 'ALREADY_EXISTS'));
    await assert.rejects(loadDevCa(join(dir, 'nope')), (e) => isEbakError(e, 'NOT_FOUND'));
    const other = await tmp();
    await saveDevCa(createDevCa(NOW), other);
    await writeFile(join(dir, 'intermediate.pem'), await readFile(join(other, 'intermediate.pem')));
    await assert.rejects(loadDevCa(dir), (e) => isEbakError(e, 'CORRUPT'));
  });
});
