/** Real AMD SEV-SNP reports (Milan v2/v3/v5, Genoa v3; VCEK and VLEK) and forgeries of each check. */
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { formatTcb, OFFSET, parseSnpReport, snpReportToJson, verifySnpReport, type Tcb } from '../../src/attestation/index.js';
import { buildCertificate } from '../../src/attestation/x509.js';
import { isEbakError } from '../../src/errors.js';
import { failsWith, flip } from './helpers.js';
import { loadSnpVectors, snpFile, snpOptions } from './snp-vectors.js';

const vectors = loadSnpVectors();
const byFile = (f: string) => vectors.find((v) => v.file === f)!;
const gsg = byFile('gsg-milan-v2-report.bin');
const virtee = byFile('virtee-milan-v2-report.bin');
const trustee = byFile('trustee-milan-v2-report.bin');
const aws = byFile('aws-milan-v3-vlek-report-trustee.bin');
const genoa = byFile('azure-genoa-v3-report.bin');
const tcb = (text: string): Tcb => {
  const [bl, tee, snp, ucode] = text.split('/').map(Number);
  return { bl: bl!, tee: tee!, snp: snp!, ucode: ucode! };
};

describe('real SEV-SNP reports', () => {
  for (const v of vectors) {
    describe(v.file, () => {
      it(`verifies with the expected fields (expect ${v.expect})`, () => {
        const json = snpReportToJson(verifySnpReport(v.bytes, snpOptions(v)));
        assert.equal(json.version, v.version);
        assert.equal(json.product, v.product);
        assert.equal(json.signing_key, v.signing_key);
        assert.equal(json.policy, v.policy);
        assert.equal(formatTcb(json.reported_tcb as Tcb), v.reported_tcb);
        if (v.measurement) assert.equal(json.measurement, v.measurement);
        if (v.report_data) assert.ok((json.report_data as string).startsWith(v.report_data));
        if (v.chip_id) assert.equal(json.chip_id, v.chip_id);
      });

      it('applies the debug rule', () => {
        if (v.expect === 'debug') failsWith(() => verifySnpReport(v.bytes, snpOptions(v, { allowDebug: false })), 'debug');
        else verifySnpReport(v.bytes, snpOptions(v, { allowDebug: false }));
      });

      it('pins measurement, report_data and the minimum TCB', () => {
        const r = parseSnpReport(v.bytes);
        const at = tcb(v.reported_tcb);
        verifySnpReport(v.bytes, snpOptions(v, { measurement: r.measurement, reportData: r.reportData, minTcb: at }));
        failsWith(() => verifySnpReport(v.bytes, snpOptions(v, { measurement: flip(r.measurement, 47) })), 'measurement');
        failsWith(() => verifySnpReport(v.bytes, snpOptions(v, { reportData: flip(r.reportData, 0) })), 'report-data');
        for (const k of ['bl', 'tee', 'snp', 'ucode'] as const) {
          failsWith(() => verifySnpReport(v.bytes, snpOptions(v, { minTcb: { ...at, [k]: at[k] + 1 } })), 'tcb');
        }
      });

      it('rejects a flipped byte in every signed field class', () => {
        const signed = ['policy', 'familyId', 'imageId', 'vmpl', 'currentTcb', 'platformInfo', 'reportData', 'measurement', 'hostData',
          'idKeyDigest', 'authorKeyDigest', 'reportId', 'reportIdMa', 'reportedTcb', 'chipId', 'committedTcb', 'launchTcb', 'guestSvn'] as const;
        for (const field of signed) failsWith(() => verifySnpReport(flip(v.bytes, OFFSET[field]), snpOptions(v)), 'signature', 'key');
        failsWith(() => verifySnpReport(flip(v.bytes, 0x29f), snpOptions(v)), 'signature'); // last signed byte (reserved)
        for (const mask of [0x04, 0x10]) failsWith(() => verifySnpReport(flip(v.bytes, OFFSET.version, mask), snpOptions(v)), 'report');
        failsWith(() => verifySnpReport(flip(v.bytes, OFFSET.signatureAlgo, 0x02), snpOptions(v)), 'algorithm');
        failsWith(() => verifySnpReport(flip(v.bytes, OFFSET.flags, 0x04), snpOptions(v)), 'key'); // VCEK ↔ VLEK
        failsWith(() => verifySnpReport(flip(v.bytes, OFFSET.flags, 0x08), snpOptions(v)), 'report'); // reserved selector
      });

      it('rejects any change to the signature', () => {
        for (const at of [OFFSET.signatureR, OFFSET.signatureR + 47, OFFSET.signatureS, OFFSET.signatureS + 47]) {
          failsWith(() => verifySnpReport(flip(v.bytes, at), snpOptions(v)), 'signature');
        }
        failsWith(() => verifySnpReport(flip(v.bytes, OFFSET.signatureR + 60), snpOptions(v)), 'signature'); // non-zero padding
        for (const at of [0x330, 0x49f]) failsWith(() => verifySnpReport(flip(v.bytes, at), snpOptions(v)), 'signature'); // unsigned reserved bytes
      });

      it('rejects wrong lengths', () => {
        failsWith(() => verifySnpReport(v.bytes.subarray(0, 0x4a0 - 1), snpOptions(v)), 'report');
        failsWith(() => verifySnpReport(Buffer.concat([v.bytes, Buffer.alloc(1)]), snpOptions(v)), 'report');
      });

      it('rejects the key outside its validity', () => {
        failsWith(() => verifySnpReport(v.bytes, snpOptions(v, { at: new Date('2020-01-01T00:00:00Z') })), 'validity');
        failsWith(() => verifySnpReport(v.bytes, snpOptions(v, { at: new Date('2040-01-01T00:00:00Z') })), 'validity');
      });
    });
  }
});

describe('SEV-SNP forgeries', () => {
  it('the AWS VLEK expired on 2025-12-10', () => {
    failsWith(() => verifySnpReport(aws.bytes, snpOptions(aws, { at: new Date('2025-12-11T00:00:00Z') })), 'validity');
    failsWith(() => verifySnpReport(aws.bytes, snpOptions(aws, { at: undefined })), 'validity');
    assert.equal(snpReportToJson(verifySnpReport(aws.bytes, snpOptions(aws))).csp_id, 'CN=cc-us-east-2.amazonaws.com');
  });

  it("another chip's key: the signature fails", () => {
    failsWith(() => verifySnpReport(gsg.bytes, snpOptions(gsg, { cert: snpFile(trustee.cert) })), 'signature');
    failsWith(() => verifySnpReport(trustee.bytes, snpOptions(trustee, { cert: snpFile(virtee.cert) })), 'signature');
  });

  it("another product's chain", () => {
    for (const chain of ['amd-ask-ark-genoa.pem', 'amd-ask-ark-turin_vcek.pem']) {
      failsWith(() => verifySnpReport(virtee.bytes, snpOptions(virtee, { chain: snpFile(chain) })), 'chain', 'product');
    }
    failsWith(() => verifySnpReport(genoa.bytes, snpOptions(genoa, { chain: snpFile('amd-ask-ark-milan.pem') })), 'chain', 'product');
  });

  it('a VLEK report with a VCEK, and a VCEK under the VLEK signer', () => {
    failsWith(() => verifySnpReport(aws.bytes, snpOptions(aws, { cert: snpFile(virtee.cert), chain: snpFile(virtee.chain) })), 'key');
    failsWith(() => verifySnpReport(virtee.bytes, snpOptions(virtee, { chain: snpFile(aws.chain) })), 'chain');
  });

  it('a chain whose ARK is not AMD\'s', () => {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const ark = buildCertificate({
      subject: [['CN', 'ARK-Milan']], issuer: [['CN', 'ARK-Milan']], subjectKey: publicKey, issuerKey: privateKey, issuerPublicKey: publicKey,
      notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2050-01-01T00:00:00Z'), ca: {},
    });
    const ask = buildCertificate({
      subject: [['CN', 'SEV-Milan']], issuer: [['CN', 'ARK-Milan']], subjectKey: publicKey, issuerKey: privateKey, issuerPublicKey: publicKey,
      notBefore: new Date('2020-01-01T00:00:00Z'), notAfter: new Date('2050-01-01T00:00:00Z'), ca: {},
    });
    const chain = Buffer.from(new X509Certificate(ask).toString() + new X509Certificate(ark).toString());
    failsWith(() => verifySnpReport(virtee.bytes, snpOptions(virtee, { chain })), 'root');
  });

  it('a chain with the ARK missing, or not certificates', () => {
    const askOnly = Buffer.from(snpFile(virtee.chain).toString('utf8').split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n');
    failsWith(() => verifySnpReport(virtee.bytes, snpOptions(virtee, { chain: askOnly })), 'chain');
    failsWith(() => verifySnpReport(virtee.bytes, snpOptions(virtee, { cert: virtee.bytes })), 'chain');
  });

  it('policy pins: SMT, the ABI minimum', () => {
    failsWith(() => verifySnpReport(virtee.bytes, snpOptions(virtee, { forbidSmt: true })), 'policy');
    failsWith(() => verifySnpReport(trustee.bytes, snpOptions(trustee, { minAbi: { major: 0, minor: 32 } })), 'policy');
    verifySnpReport(trustee.bytes, snpOptions(trustee, { minAbi: { major: 0, minor: 31 } }));
    assert.throws(() => verifySnpReport(virtee.bytes, snpOptions(virtee, { reportData: Buffer.alloc(65) })), (e) => isEbakError(e, 'USAGE'));
  });

  it("Azure's HCL report carries the SNP report at 0x20", () => {
    const hcl = snpFile('azure-genoa-v3-hcl-report.bin');
    assert.equal(Buffer.compare(hcl.subarray(0x20, 0x4c0), genoa.bytes), 0);
  });
});
