/**
 * The simulated AMD Secure Processor: SEV-SNP attestation reports in the real
 * binary format (report.ts's layout), signed exactly as real ones are (ECDSA
 * P-384/SHA-384 over 0x000-0x29F, r and s as 72-byte little-endian integers
 * at 0x2A0 and 0x2E8) by a development VCEK (devchain.ts), so clients run the
 * same verifier (verify.ts) they run against AMD's chain.
 *
 * The launch measurement is a simulation of the SNP launch digest, not AMD's
 * computation: a real one is the SHA-384 chain over every page the hypervisor
 * measures into the guest (OVMF, kernel, initrd, command line, the VMSAs),
 * as sev-snp-measure computes it from the image files; ebak ships no guest
 * image, so the simulated digest is SHA-384 of a label and the vault's code
 * bundle (the same bytes Nitro's simulated PCR0 hashes): stable, and changed
 * by any change to the code.
 */
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { EbakError } from '../../errors.js';
import type { DevSnpChain } from './devchain.js';
import type { Product, Tcb } from './product.js';
import { ECDSA_P384_SHA384, OFFSET, REPORT_SIZE, SIGNATURE_COMPONENT_SIZE, SIGNED_SIZE } from './report.js';
import { POLICY } from './verify.js';

const LAUNCH_LABEL = 'ebak simulated sev-snp launch digest, v1\n';

/** The simulated launch measurement (48 bytes) of a guest running `bundle`. */
export function snpLaunchMeasurement(bundle: Uint8Array): Buffer {
  return createHash('sha384').update(LAUNCH_LABEL).update(bundle).digest();
}

export interface SimulatedSnpOptions {
  /** MEASUREMENT, 48 bytes (snpLaunchMeasurement of the guest's code). */
  measurement: Uint8Array;
  /** 2, 3 or 5 (default 5, as GCP issues). */
  version?: 2 | 3 | 5;
  /** GUEST_POLICY (default: ABI 0.0, SMT allowed, bit 17 set; no debug, no migration agent). */
  policy?: bigint;
  vmpl?: number;
}

/** The policy GCP's Confidential VMs launch with: SMT allowed and the must-be-one bit. */
export const DEFAULT_POLICY = (1n << POLICY.smt) | (1n << POLICY.reservedOne);
/** CPUID family 19h: Milan model 01h, Genoa 11h (stepping 1). */
const CPUID: Readonly<Record<'Milan' | 'Genoa', readonly [number, number, number]>> = { Milan: [0x19, 0x01, 0x01], Genoa: [0x19, 0x11, 0x01] };
/** Firmware 1.55.21 (build, minor, major bytes). */
const FIRMWARE = [21, 55, 1] as const;

export class SimulatedSnp {
  /** REPORT_ID: random per guest, as the firmware makes it at launch. */
  private readonly reportId = randomBytes(32);

  constructor(readonly chain: DevSnpChain, private readonly options: SimulatedSnpOptions) {
    if (options.measurement.length !== 48) throw new EbakError('USAGE', 'an SNP measurement is 48 bytes');
  }

  /** One signed report whose REPORT_DATA is `reportData` (at most 64 bytes, zero-padded). */
  report(reportData: Uint8Array): Uint8Array {
    if (reportData.length > 64) throw new EbakError('USAGE', 'SNP report_data is at most 64 bytes');
    const b = Buffer.alloc(REPORT_SIZE);
    const version = this.options.version ?? 5;
    const tcb = encodeTcb(this.chain.tcb, this.chain.product);
    b.writeUInt32LE(version, OFFSET.version);
    b.writeBigUInt64LE(this.options.policy ?? DEFAULT_POLICY, OFFSET.policy);
    b.writeUInt32LE(this.options.vmpl ?? 0, OFFSET.vmpl);
    b.writeUInt32LE(ECDSA_P384_SHA384, OFFSET.signatureAlgo);
    for (const at of [OFFSET.currentTcb, OFFSET.reportedTcb, OFFSET.committedTcb, OFFSET.launchTcb]) b.writeBigUInt64LE(tcb, at);
    b.writeUInt32LE(0, OFFSET.flags); // signed by the VCEK, chip id not masked
    b.set(reportData, OFFSET.reportData);
    b.set(this.options.measurement, OFFSET.measurement);
    b.set(this.reportId, OFFSET.reportId);
    if (version >= 3 && this.chain.product !== 'Turin') b.set(CPUID[this.chain.product], OFFSET.cpuid);
    b.set(this.chain.chipId, OFFSET.chipId);
    b.set(FIRMWARE, OFFSET.currentVersion);
    b.set(FIRMWARE, OFFSET.committedVersion);
    return signSnpReport(b, this.chain.vcek.key);
  }
}

/**
 * Signs bytes 0x000-0x29F of a 0x4A0-byte report with a VCEK's P-384 key and
 * writes r and s little-endian (72 bytes each) at 0x2A0 and 0x2E8, as the AMD
 * Secure Processor does. Returns a new array; `report` is not changed.
 */
export function signSnpReport(report: Uint8Array, key: KeyObject): Uint8Array {
  if (report.length !== REPORT_SIZE) throw new EbakError('USAGE', `an SNP report is ${REPORT_SIZE} bytes`);
  const out = Buffer.from(report);
  const p1363 = sign('sha384', out.subarray(0, SIGNED_SIZE), { key, dsaEncoding: 'ieee-p1363' });
  out.fill(0, SIGNED_SIZE);
  out.set(Buffer.from(p1363.subarray(0, 48)).reverse(), OFFSET.signatureR);
  out.set(Buffer.from(p1363.subarray(48)).reverse(), OFFSET.signatureR + SIGNATURE_COMPONENT_SIZE);
  return out;
}

/** TCB_VERSION of Milan and Genoa: byte 0 BOOT_LOADER, 1 TEE, 6 SNP, 7 MICROCODE. */
function encodeTcb(t: Tcb, product: Product): bigint {
  if (product === 'Turin') throw new EbakError('USAGE', 'the simulator makes Milan and Genoa reports');
  return BigInt(t.bl) | (BigInt(t.tee) << 8n) | (BigInt(t.snp) << 48n) | (BigInt(t.ucode) << 56n);
}
