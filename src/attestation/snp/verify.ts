/**
 * verifySnpReport: the offline check of an AMD SEV-SNP attestation report.
 * A pure function of the bytes and the options; the checks run in the order
 * of docs/attestation.md ("SEV-SNP") and the first failure throws
 * AttestationError(check).
 */
import { timingSafeEqual, verify, type X509Certificate } from 'node:crypto';
import { EbakError } from '../../errors.js';
import { AttestationError, ensure } from '../errors.js';
import { keyExtensions, verifySnpChain, type SnpKeyChain } from './certs.js';
import { decodeTcb, formatTcb, productInName, productOfCpuid, type Product, type Tcb } from './product.js';
import { parseSnpReport, SIGNED_SIZE, type SnpReport } from './report.js';

export interface SnpVerifyOptions {
  /** The VCEK or VLEK certificate, DER or PEM. */
  cert: Uint8Array;
  /** The ASK (or ASVK) and ARK, PEM. */
  chain: Uint8Array;
  /** The ARKs to trust instead of AMD's pinned ones (a development chain: snp/devchain.ts). */
  roots?: readonly X509Certificate[];
  /** The time to check the certificates at (default: now). */
  at?: Date;
  /** Accept a guest whose policy allows debugging (the host can read its memory). */
  allowDebug?: boolean;
  /** Accept a guest that may be migrated by a migration agent (default: refused). */
  allowMigrationAgent?: boolean;
  /** Refuse a guest that allows SMT (default: accepted, as every cloud does). */
  forbidSmt?: boolean;
  /** The lowest ABI version the policy may require, major.minor (default 0.0). */
  minAbi?: { major: number; minor: number };
  /** Each reported TCB SPL must be at least this. */
  minTcb?: Tcb;
  /** The expected launch measurement (48 bytes). */
  measurement?: Uint8Array;
  /** The expected report_data; shorter values are compared with zero padding to 64 bytes. */
  reportData?: Uint8Array;
}

export interface VerifiedSnpReport {
  report: SnpReport;
  product: Product;
  signingKey: 'VCEK' | 'VLEK';
  reportedTcb: Tcb;
  /** The VLEK's cloud provider (CSP-ID extension), null for a VCEK. */
  cspId: string | null;
}

/** GUEST_POLICY bits (ABI spec table "Guest Policy Structure"). */
export const POLICY = { smt: 16n, reservedOne: 17n, migrateMa: 18n, debug: 19n } as const;
const bit = (policy: bigint, n: bigint) => ((policy >> n) & 1n) === 1n;

export function verifySnpReport(bytes: Uint8Array, options: SnpVerifyOptions): VerifiedSnpReport {
  const at = (options.at ?? new Date()).getTime();
  if (!Number.isFinite(at)) throw new EbakError('USAGE', 'attestation check time is not a valid date');
  const report = parseSnpReport(bytes);
  ensure(report.signingKey !== 'none', 'key', 'the report is unsigned (signing key selector 7)');
  const chain = verifySnpChain(options.cert, options.chain, at, options.roots);
  const ext = keyExtensions(chain.key, chain.product);
  checkProduct(report, chain, ext.productName);
  ensure(chain.kind === report.signingKey, 'key', `the report is signed with a ${report.signingKey}, the certificate is a ${chain.kind}`);
  checkSignature(report, chain);
  const reportedTcb = decodeTcb(report.reportedTcb, chain.product);
  checkKeyBinding(report, chain, reportedTcb, ext.tcb, ext.hwId);
  checkPolicy(report.policy, options);
  if (options.minTcb) checkMinTcb(reportedTcb, options.minTcb);
  if (options.measurement) checkEqual(report.measurement, options.measurement, 'measurement', 'the launch measurement');
  if (options.reportData) checkEqual(report.reportData, padded(options.reportData), 'report-data', 'report_data');
  return { report, product: chain.product, signingKey: chain.kind, reportedTcb, cspId: ext.cspId };
}

/** The report's CPUID (version 3+), the ASK/ARK and the key's productName must name one product. */
function checkProduct(report: SnpReport, chain: SnpKeyChain, name: string | null): void {
  const fromCpuid = productOfCpuid(report.cpuid);
  ensure(fromCpuid === null || fromCpuid === chain.product, 'product', `the report's CPUID names ${fromCpuid}, the chain is ${chain.product}'s`);
  ensure(name === null || productInName(name) === chain.product, 'product', `the key certificate is for "${name}", the chain is ${chain.product}'s`);
}

/** ECDSA P-384/SHA-384 over bytes 0x000..0x29F; r‖s as IEEE P1363 (big-endian, 48 bytes each). */
function checkSignature(report: SnpReport, chain: SnpKeyChain): void {
  const key = chain.key.publicKey;
  ensure(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1', 'signature', `the ${chain.kind} key is not ECDSA P-384`);
  const signature = Buffer.concat([report.signature.r, report.signature.s]);
  let ok: boolean;
  try {
    ok = verify('sha384', report.raw.subarray(0, SIGNED_SIZE), { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch (e) {
    throw new AttestationError('signature', 'the report signature cannot be checked', { cause: e });
  }
  ensure(ok, 'signature', `the report signature does not verify with the ${chain.kind}`);
}

/** A VCEK is issued for one chip at one TCB: its hwID and SPLs must be the report's chip_id and reported_tcb. */
function checkKeyBinding(report: SnpReport, chain: SnpKeyChain, reported: Tcb, issued: Tcb, hwId: Uint8Array | null): void {
  ensure(formatTcb(issued) === formatTcb(reported), 'key', `the ${chain.kind} was issued for TCB ${formatTcb(issued)}, the report's is ${formatTcb(reported)}`);
  if (chain.kind === 'VLEK') return;
  ensure(hwId !== null, 'key', 'the VCEK has no hwID extension');
  ensure(!report.maskChipKey, 'key', 'the report masks its chip id, so it cannot be bound to the VCEK');
  const chip = report.chipId.subarray(0, hwId.length);
  ensure(Buffer.compare(chip, hwId) === 0, 'key', "the VCEK's hwID is not the report's chip_id (another chip's key)");
}

function checkPolicy(policy: bigint, options: SnpVerifyOptions): void {
  ensure(bit(policy, POLICY.reservedOne), 'report', 'guest policy bit 17 (reserved, must be one) is zero');
  ensure(options.allowDebug === true || !bit(policy, POLICY.debug), 'debug', 'the guest policy allows debugging: the host can read and change its memory');
  ensure(options.allowMigrationAgent === true || !bit(policy, POLICY.migrateMa), 'policy', 'the guest policy allows a migration agent');
  ensure(options.forbidSmt !== true || !bit(policy, POLICY.smt), 'policy', 'the guest policy allows SMT');
  const abi = { major: Number((policy >> 8n) & 0xffn), minor: Number(policy & 0xffn) };
  const min = options.minAbi ?? { major: 0, minor: 0 };
  ensure(abi.major > min.major || (abi.major === min.major && abi.minor >= min.minor), 'policy', `the guest policy's ABI ${abi.major}.${abi.minor} is below ${min.major}.${min.minor}`);
}

function checkMinTcb(reported: Tcb, min: Tcb): void {
  const low = (['bl', 'tee', 'snp', 'ucode'] as const).filter((k) => reported[k] < min[k]);
  ensure(low.length === 0, 'tcb', `the reported TCB ${formatTcb(reported)} is below the minimum ${formatTcb(min)} (${low.join(', ')})`);
}

function checkEqual(got: Uint8Array, want: Uint8Array, check: 'measurement' | 'report-data', what: string): void {
  ensure(got.length === want.length && timingSafeEqual(got, want), check, `${what} is ${hex(got)}, expected ${hex(want)}`);
}

function padded(data: Uint8Array): Uint8Array {
  if (data.length > 64) throw new EbakError('USAGE', 'report data is at most 64 bytes');
  return Buffer.concat([data, new Uint8Array(64 - data.length)]);
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
