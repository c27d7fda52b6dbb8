/**
 * The simulated SEV-SNP platform: reports signed by a development ARK → ASK →
 * VCEK chain verify with the real verifier when its ARK is trusted, are
 * refused with AMD's real chains, and each forgery is refused by its check.
 * Also ebak's SNP evidence (the vault's report_data binding) and the saved chain.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  OFFSET, POLICY, SimulatedSnp, createDevSnpChain, encodeSnpEvidence, issueVcek, loadDevSnpChain, parseSnpEvidence, parseSnpReport,
  saveDevSnpChain, signSnpReport, snpLaunchMeasurement, snpReportData, snpReportToJson, verifySnpEvidence, verifySnpReport, DEFAULT_POLICY,
  type SnpVerifyOptions,
} from '../../src/attestation/index.js';
import { isEbakError } from '../../src/errors.js';
import { failsWith, flip, prng } from './helpers.js';
import { snpFile } from './snp-vectors.js';

const chain = createDevSnpChain();
const chainPem = Buffer.from(chain.ask.toString() + chain.ark.toString());
const measurement = snpLaunchMeasurement(Buffer.from('a vault bundle'));
const snp = new SimulatedSnp(chain, { measurement });
const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
const nonce = Buffer.alloc(32, 9);
const userData = Buffer.alloc(32, 4);
const bound = snpReportData(spki, userData, nonce);
const report = snp.report(bound);
const options = (extra: Partial<SnpVerifyOptions> = {}): SnpVerifyOptions => ({ cert: chain.vcek.cert.raw, chain: chainPem, roots: [chain.ark], ...extra });
/** `report` with `edit` applied to its signed bytes, then signed again by the genuine VCEK (only the edit is wrong). */
const resigned = (edit: (b: Buffer) => void) => {
  const b = Buffer.from(report);
  edit(b);
  return signSnpReport(b, chain.vcek.key);
};

describe('simulated SEV-SNP reports', () => {
  it('are real SNP reports: version 5, Milan, VCEK, the measurement and report_data given', () => {
    const json = snpReportToJson(verifySnpReport(report, options({ measurement, reportData: bound, minTcb: chain.tcb })));
    assert.equal(json.version, 5);
    assert.equal(json.product, 'Milan');
    assert.equal(json.signing_key, 'VCEK');
    assert.equal(json.measurement, measurement.toString('hex'));
    assert.equal(json.report_data, bound.toString('hex'));
    assert.equal(json.chip_id, Buffer.from(chain.chipId).toString('hex'));
    assert.equal(BigInt(json.policy as string), DEFAULT_POLICY);
    assert.equal(report.length, 0x4a0);
  });

  it('are made in versions 2 and 3 too', () => {
    for (const version of [2, 3] as const) {
      const r = new SimulatedSnp(chain, { measurement, version }).report(bound);
      assert.equal(verifySnpReport(r, options()).report.version, version);
    }
  });

  it('are refused without the dev ARK pinned: AMD pins it out (root)', () => {
    failsWith(() => verifySnpReport(report, { cert: chain.vcek.cert.raw, chain: chainPem }), 'root');
  });

  it("are refused with AMD's real Milan and Genoa chains", () => {
    failsWith(() => verifySnpReport(report, { cert: chain.vcek.cert.raw, chain: snpFile('amd-ask-ark-milan.pem') }), 'chain');
    failsWith(() => verifySnpReport(report, { cert: chain.vcek.cert.raw, chain: snpFile('amd-ask-ark-genoa.pem') }), 'chain', 'product');
  });

  it('refuse a flipped measurement (signature) and a wrong expected one (measurement)', () => {
    failsWith(() => verifySnpReport(flip(report, OFFSET.measurement), options()), 'signature');
    failsWith(() => verifySnpReport(resigned((b) => { b[OFFSET.measurement]! ^= 1; }), options({ measurement })), 'measurement');
  });

  it('refuse report_data that does not bind the key (report-data)', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    failsWith(() => verifySnpReport(report, options({ reportData: snpReportData(other, userData, nonce) })), 'report-data');
    failsWith(() => verifySnpReport(snp.report(Buffer.alloc(64)), options({ reportData: bound })), 'report-data');
  });

  it('refuse a debug policy unless allowed (debug)', () => {
    const debug = new SimulatedSnp(chain, { measurement, policy: DEFAULT_POLICY | (1n << POLICY.debug) }).report(bound);
    failsWith(() => verifySnpReport(debug, options()), 'debug');
    verifySnpReport(debug, options({ allowDebug: true }));
  });

  it("refuse another chip's VCEK (key), and a VCEK of another TCB (key)", () => {
    const otherChip = issueVcek(chain.askIssuer, 'Milan', Buffer.alloc(64, 1), chain.tcb, new Date());
    const signedByOther = signSnpReport(report, otherChip.key);
    failsWith(() => verifySnpReport(signedByOther, options({ cert: otherChip.cert.raw })), 'key');
    failsWith(() => verifySnpReport(report, options({ cert: otherChip.cert.raw })), 'signature');
    const newer = issueVcek(chain.askIssuer, 'Milan', chain.chipId, { ...chain.tcb, snp: chain.tcb.snp + 1 }, new Date());
    failsWith(() => verifySnpReport(signSnpReport(report, newer.key), options({ cert: newer.cert.raw })), 'key');
  });

  it('refuse a TCB below --min-tcb (tcb)', () => {
    for (const k of ['bl', 'tee', 'snp', 'ucode'] as const) {
      failsWith(() => verifySnpReport(report, options({ minTcb: { ...chain.tcb, [k]: chain.tcb[k] + 1 } })), 'tcb');
    }
  });

  it('refuse a report outside the VCEK validity (validity)', () => {
    failsWith(() => verifySnpReport(report, options({ at: new Date(Date.now() + 8 * 365 * 86_400_000) })), 'validity');
  });

  it('refuse reserved signature bytes and a cut report (signature, report)', () => {
    failsWith(() => verifySnpReport(flip(report, 0x4a0 - 1), options()), 'signature');
    failsWith(() => verifySnpReport(report.subarray(0, 0x49f), options()), 'report');
  });
});

describe('SNP evidence (the vault binding)', () => {
  const evidence = encodeSnpEvidence({ publicKey: spki, userData, nonce, vcek: chain.vcek.cert.raw, report });
  const verify = (bytes: Uint8Array, extra: Record<string, unknown> = {}) => verifySnpEvidence(bytes, { chain: chainPem, roots: [chain.ark], nonce, measurement, ...extra });

  it('round-trips and verifies: report_data binds public_key, user_data and nonce', () => {
    assert.deepEqual(Buffer.from(encodeSnpEvidence(parseSnpEvidence(evidence))), Buffer.from(evidence));
    const { evidence: e, verified } = verify(evidence);
    assert.deepEqual(Buffer.from(e.publicKey), spki);
    assert.equal(verified.product, 'Milan');
  });

  it('refuses another public key, user_data or nonce in the envelope (report-data), and another nonce sent (nonce)', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    for (const swap of [{ publicKey: other }, { userData: Buffer.alloc(32, 5) }, { nonce: Buffer.alloc(32, 8) }]) {
      failsWith(() => verify(encodeSnpEvidence({ publicKey: spki, userData, nonce, vcek: chain.vcek.cert.raw, report, ...swap }), { nonce: undefined }), 'report-data');
    }
    failsWith(() => verify(evidence, { nonce: Buffer.alloc(32, 1) }), 'nonce');
  });

  it('refuses malformed envelopes (payload), with typed errors only', () => {
    failsWith(() => parseSnpEvidence(flip(evidence, 0)), 'payload');
    failsWith(() => parseSnpEvidence(flip(evidence, 7)), 'payload');
    failsWith(() => parseSnpEvidence(Buffer.concat([evidence, Buffer.of(0)])), 'payload');
    for (let n = 0; n < evidence.length; n += 97) failsWith(() => parseSnpEvidence(evidence.subarray(0, n)), 'payload');
  });

  it('fuzz: 300 seeded byte changes and cuts of the evidence end in an AttestationError, never another error', () => {
    const seed = 2112;
    const random = prng(seed);
    for (let i = 0; i < 300; i++) {
      const bytes = Uint8Array.from(evidence);
      const at = Math.floor(random() * bytes.length);
      bytes[at] = (bytes[at]! + 1 + Math.floor(random() * 255)) & 0xff;
      const cut = i % 3 === 0 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
      failsWith(() => verify(cut));
    }
  });
});

describe('the saved dev SEV-SNP chain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebak-snp-chain-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('saves chain.pem, vcek.pem and a 0600 key, loads back the same chip and TCB, and never overwrites', async () => {
    await saveDevSnpChain(chain, join(dir, 'c'));
    assert.equal(statSync(join(dir, 'c', 'vcek.key.pem')).mode & 0o777, 0o600);
    const loaded = await loadDevSnpChain(join(dir, 'c'));
    assert.deepEqual(Buffer.from(loaded.chipId), Buffer.from(chain.chipId));
    assert.deepEqual(loaded.tcb, chain.tcb);
    assert.equal(loaded.ark.fingerprint256, chain.ark.fingerprint256);
    const r = new SimulatedSnp(loaded, { measurement }).report(bound);
    verifySnpReport(r, { cert: loaded.vcek.cert.raw, chain: readFileSync(join(dir, 'c', 'chain.pem')), roots: [loaded.ark] });
    await assert.rejects(saveDevSnpChain(chain, join(dir, 'c')), (e) => isEbakError(e) && e.code === 'ALREADY_EXISTS');
    await assert.rejects(loadDevSnpChain(join(dir, 'missing')), (e) => isEbakError(e) && e.code === 'NOT_FOUND');
  });

  it('parses as a report with the simulated fields', () => {
    const r = parseSnpReport(report);
    assert.deepEqual(r.cpuid, { family: 0x19, model: 0x01, stepping: 0x01 });
    assert.equal(r.signingKey, 'VCEK');
  });
});
