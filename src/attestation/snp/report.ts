/**
 * The AMD SEV-SNP ATTESTATION_REPORT structure (SEV-SNP ABI specification,
 * table "ATTESTATION_REPORT Structure"): a fixed 0x4A0-byte little-endian
 * layout, versions 2, 3 and 5. The parser is strict about length, version,
 * signature algorithm and the must-be-zero ranges; it only reads, it never
 * interprets policy (verify.ts does).
 */
import { AttestationError, ensure } from '../errors.js';

export const REPORT_SIZE = 0x4a0;
/** The signed part: bytes 0x000..0x29F. */
export const SIGNED_SIZE = 0x2a0;
export const SUPPORTED_VERSIONS: readonly number[] = [2, 3, 5];
/** SIGNATURE_ALGO 1: ECDSA P-384 with SHA-384. */
export const ECDSA_P384_SHA384 = 1;

/** Byte offsets of every field (ABI spec table "ATTESTATION_REPORT Structure"). */
export const OFFSET = {
  version: 0x000, guestSvn: 0x004, policy: 0x008, familyId: 0x010, imageId: 0x020, vmpl: 0x030,
  signatureAlgo: 0x034, currentTcb: 0x038, platformInfo: 0x040, flags: 0x048, reportData: 0x050,
  measurement: 0x090, hostData: 0x0c0, idKeyDigest: 0x0e0, authorKeyDigest: 0x110, reportId: 0x140,
  reportIdMa: 0x160, reportedTcb: 0x180, cpuid: 0x188, chipId: 0x1a0, committedTcb: 0x1e0,
  currentVersion: 0x1e8, committedVersion: 0x1ec, launchTcb: 0x1f0, launchMitVector: 0x1f8,
  currentMitVector: 0x200, signatureR: 0x2a0, signatureS: 0x2e8,
} as const;
/** r and s are 72 bytes each, little-endian, zero above the 48 bytes P-384 uses. */
export const SIGNATURE_COMPONENT_SIZE = 72;
/** The rest of the 512-byte SIGNATURE field is reserved: unsigned, so it must be zero or the report is malleable. */
const SIGNATURE_RESERVED = 0x2a0 + 2 * SIGNATURE_COMPONENT_SIZE;

/** KEY_SEL / SIGNING_KEY in FLAGS bits 2..4. */
export type SigningKey = 'VCEK' | 'VLEK' | 'none';

export interface SnpReport {
  raw: Uint8Array;
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: bigint;
  platformInfo: bigint;
  /** FLAGS bit 0: the author key digest is present. */
  authorKeyEn: boolean;
  /** FLAGS bit 1: chip_id is zeroed (MASK_CHIP_ID). */
  maskChipKey: boolean;
  signingKey: SigningKey;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: bigint;
  /** CPUID family, model, stepping (version 3 and later; zero in version 2). */
  cpuid: { family: number; model: number; stepping: number };
  chipId: Uint8Array;
  committedTcb: bigint;
  launchTcb: bigint;
  /** Firmware versions, major.minor.build. */
  current: string;
  committed: string;
  /** Version 5 and later: the launch and current mitigation vectors. */
  launchMitVector: bigint | null;
  currentMitVector: bigint | null;
  /** The signature's r and s, big-endian, 48 bytes each. */
  signature: { r: Uint8Array; s: Uint8Array };
}

export function parseSnpReport(bytes: Uint8Array): SnpReport {
  ensure(bytes.length === REPORT_SIZE, 'report', `an SNP report is ${REPORT_SIZE} bytes, got ${bytes.length}`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = b.readUInt32LE(OFFSET.version);
  ensure(SUPPORTED_VERSIONS.includes(version), 'report', `report version ${version} is not one of ${SUPPORTED_VERSIONS.join(', ')}`);
  const signatureAlgo = b.readUInt32LE(OFFSET.signatureAlgo);
  ensure(signatureAlgo === ECDSA_P384_SHA384, 'algorithm', `signature algorithm ${signatureAlgo} is not ECDSA P-384/SHA-384 (1)`);
  ensure(b.subarray(SIGNATURE_RESERVED).every((x) => x === 0), 'signature', 'the reserved bytes after the signature are not zero');
  const flags = b.readUInt32LE(OFFSET.flags);
  const field = (offset: number, size: number) => Uint8Array.from(b.subarray(offset, offset + size));
  const v5 = version >= 5;
  return {
    raw: Uint8Array.from(bytes),
    version,
    guestSvn: b.readUInt32LE(OFFSET.guestSvn),
    policy: b.readBigUInt64LE(OFFSET.policy),
    familyId: field(OFFSET.familyId, 16),
    imageId: field(OFFSET.imageId, 16),
    vmpl: b.readUInt32LE(OFFSET.vmpl),
    signatureAlgo,
    currentTcb: b.readBigUInt64LE(OFFSET.currentTcb),
    platformInfo: b.readBigUInt64LE(OFFSET.platformInfo),
    authorKeyEn: (flags & 1) !== 0,
    maskChipKey: (flags & 2) !== 0,
    signingKey: signingKey((flags >> 2) & 7),
    reportData: field(OFFSET.reportData, 64),
    measurement: field(OFFSET.measurement, 48),
    hostData: field(OFFSET.hostData, 32),
    idKeyDigest: field(OFFSET.idKeyDigest, 48),
    authorKeyDigest: field(OFFSET.authorKeyDigest, 48),
    reportId: field(OFFSET.reportId, 32),
    reportIdMa: field(OFFSET.reportIdMa, 32),
    reportedTcb: b.readBigUInt64LE(OFFSET.reportedTcb),
    cpuid: { family: b[OFFSET.cpuid]!, model: b[OFFSET.cpuid + 1]!, stepping: b[OFFSET.cpuid + 2]! },
    chipId: field(OFFSET.chipId, 64),
    committedTcb: b.readBigUInt64LE(OFFSET.committedTcb),
    launchTcb: b.readBigUInt64LE(OFFSET.launchTcb),
    current: firmware(b, OFFSET.currentVersion),
    committed: firmware(b, OFFSET.committedVersion),
    launchMitVector: v5 ? b.readBigUInt64LE(OFFSET.launchMitVector) : null,
    currentMitVector: v5 ? b.readBigUInt64LE(OFFSET.currentMitVector) : null,
    signature: { r: component(b, OFFSET.signatureR), s: component(b, OFFSET.signatureS) },
  };
}

function signingKey(sel: number): SigningKey {
  if (sel === 0) return 'VCEK';
  if (sel === 1) return 'VLEK';
  if (sel === 7) return 'none';
  throw new AttestationError('report', `signing key selector ${sel} is reserved`);
}

/** build, minor, major bytes, printed major.minor.build. */
const firmware = (b: Buffer, at: number) => `${b[at + 2]}.${b[at + 1]}.${b[at]}`;

/** A 72-byte little-endian component → 48 bytes big-endian; the top 24 bytes must be zero. */
function component(b: Buffer, at: number): Uint8Array {
  const le = b.subarray(at, at + SIGNATURE_COMPONENT_SIZE);
  ensure(le.subarray(48).every((x) => x === 0), 'signature', 'a signature component has non-zero padding above 48 bytes');
  return Uint8Array.from(le.subarray(0, 48)).reverse();
}
