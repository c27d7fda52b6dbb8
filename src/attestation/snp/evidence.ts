/**
 * ebak's SEV-SNP attestation evidence: what an SNP vault answers where a
 * Nitro vault answers its attestation document. An SNP report has 64 bytes of
 * REPORT_DATA where a Nitro document has public_key, user_data and nonce, so
 * the evidence carries those three beside the report and REPORT_DATA is their
 * SHA-512 binding; the VCEK certificate rides along (a real guest gets it from
 * the host with SNP_GET_EXT_REPORT's certificate table). Format, versioned
 * (docs/attestation.md, "SEV-SNP evidence"):
 *
 *   "EBAKSNP" ‖ 0x01 ‖ u16 n ‖ public_key ‖ u16 n ‖ user_data ‖ u16 n ‖ nonce ‖ u16 n ‖ VCEK DER ‖ report (0x4A0)
 *
 * lengths big-endian; nothing after the report. The reader is strict.
 */
import { createHash } from 'node:crypto';
import { EbakError } from '../../errors.js';
import { AttestationError, ensure } from '../errors.js';
import { REPORT_SIZE } from './report.js';
import { verifySnpReport, type SnpVerifyOptions, type VerifiedSnpReport } from './verify.js';

/** The HTTP content type of the evidence (the Nitro document stays application/cbor). */
export const SNP_EVIDENCE_TYPE = 'application/vnd.ebak.sev-snp-evidence';
export const SNP_EVIDENCE_VERSION = 1;
/** The first bytes of every version: what tells SNP evidence from a Nitro document. */
export const SNP_EVIDENCE_MAGIC: Buffer = Buffer.from('EBAKSNP', 'latin1');
const MAGIC = SNP_EVIDENCE_MAGIC;
const REPORT_DATA_LABEL = 'ebak/sev-snp-report-data/v1\0';
/** Size limits of the fields, as the Nitro document's (public_key 1..1024, user_data and nonce 0..1024); a VCEK is ~1.3 KiB. */
const LIMITS = { publicKey: [1, 1024], userData: [0, 1024], nonce: [0, 1024], vcek: [1, 4096] } as const;

export interface SnpEvidence {
  /** The enclave's TLS key, DER SubjectPublicKeyInfo. */
  publicKey: Uint8Array;
  userData: Uint8Array;
  nonce: Uint8Array;
  /** The VCEK certificate, DER. */
  vcek: Uint8Array;
  report: Uint8Array;
}

type Field = keyof typeof LIMITS;
const FIELDS: readonly Field[] = ['publicKey', 'userData', 'nonce', 'vcek'];

const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
const prefixed = (b: Uint8Array) => Buffer.concat([u16(b.length), b]);

/** REPORT_DATA = SHA-512(label ‖ u16 n ‖ public_key ‖ u16 n ‖ user_data ‖ u16 n ‖ nonce): 64 bytes. */
export function snpReportData(publicKey: Uint8Array, userData: Uint8Array, nonce: Uint8Array): Buffer {
  return createHash('sha512').update(REPORT_DATA_LABEL).update(prefixed(publicKey)).update(prefixed(userData)).update(prefixed(nonce)).digest();
}

export function encodeSnpEvidence(e: SnpEvidence): Uint8Array {
  for (const f of FIELDS) {
    const [min, max] = LIMITS[f];
    if (e[f].length < min || e[f].length > max) throw new EbakError('USAGE', `SNP evidence ${f} must be ${min}..${max} bytes, got ${e[f].length}`);
  }
  if (e.report.length !== REPORT_SIZE) throw new EbakError('USAGE', `an SNP report is ${REPORT_SIZE} bytes`);
  return Buffer.concat([MAGIC, Uint8Array.of(SNP_EVIDENCE_VERSION), ...FIELDS.map((f) => prefixed(e[f])), e.report]);
}

export function parseSnpEvidence(bytes: Uint8Array): SnpEvidence {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  ensure(b.length > MAGIC.length && b.subarray(0, MAGIC.length).equals(MAGIC), 'payload', 'the SNP evidence does not start with EBAKSNP');
  ensure(b[MAGIC.length] === SNP_EVIDENCE_VERSION, 'payload', `SNP evidence version ${b[MAGIC.length]} is not ${SNP_EVIDENCE_VERSION}`);
  let pos = MAGIC.length + 1;
  const out: Partial<SnpEvidence> = {};
  for (const f of FIELDS) {
    ensure(pos + 2 <= b.length, 'payload', `the SNP evidence is cut before ${f}`);
    const n = b.readUInt16BE(pos);
    const [min, max] = LIMITS[f];
    ensure(n >= min && n <= max && pos + 2 + n <= b.length, 'payload', `the SNP evidence's ${f} has a bad length (${n})`);
    out[f] = Uint8Array.from(b.subarray(pos + 2, pos + 2 + n));
    pos += 2 + n;
  }
  ensure(b.length - pos === REPORT_SIZE, 'payload', `the SNP evidence must end with one ${REPORT_SIZE}-byte report, ${b.length - pos} bytes are left`);
  return { ...(out as Omit<SnpEvidence, 'report'>), report: Uint8Array.from(b.subarray(pos)) };
}

export type SnpEvidenceOptions = Omit<SnpVerifyOptions, 'cert' | 'reportData'> & {
  /** The nonce the verifier sent; the evidence's must equal it. */
  nonce?: Uint8Array;
};

/**
 * Parses the evidence and verifies its report (verifySnpReport, with the
 * evidence's VCEK and REPORT_DATA pinned to the binding of its fields), then
 * the nonce. The caller compares public_key with the key it talks to.
 */
export function verifySnpEvidence(bytes: Uint8Array, options: SnpEvidenceOptions): { evidence: SnpEvidence; verified: VerifiedSnpReport } {
  const evidence = parseSnpEvidence(bytes);
  const { nonce, ...rest } = options;
  const verified = verifySnpReport(evidence.report, { ...rest, cert: evidence.vcek, reportData: snpReportData(evidence.publicKey, evidence.userData, evidence.nonce) });
  if (nonce !== undefined && !Buffer.from(nonce).equals(Buffer.from(evidence.nonce))) throw new AttestationError('nonce', 'the SNP evidence carries another nonce than the one sent');
  return { evidence, verified };
}
