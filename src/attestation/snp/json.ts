/** The decoded fields of a verified SNP report as JSON: byte strings hex, 64-bit values hex, TCBs by SPL. */
import type { VerifiedSnpReport } from './verify.js';
import { decodeTcb } from './product.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const u64 = (v: bigint) => `0x${v.toString(16).padStart(16, '0')}`;

export function snpReportToJson(v: VerifiedSnpReport): Record<string, unknown> {
  const r = v.report;
  const tcb = (value: bigint) => ({ raw: u64(value), ...decodeTcb(value, v.product) });
  return {
    platform: 'sev-snp',
    version: r.version,
    product: v.product,
    signing_key: v.signingKey,
    ...(v.cspId === null ? {} : { csp_id: v.cspId }),
    policy: u64(r.policy),
    vmpl: r.vmpl,
    guest_svn: r.guestSvn,
    measurement: hex(r.measurement),
    report_data: hex(r.reportData),
    host_data: hex(r.hostData),
    family_id: hex(r.familyId),
    image_id: hex(r.imageId),
    id_key_digest: hex(r.idKeyDigest),
    author_key_digest: hex(r.authorKeyDigest),
    report_id: hex(r.reportId),
    chip_id: hex(r.chipId),
    reported_tcb: tcb(r.reportedTcb),
    current_tcb: tcb(r.currentTcb),
    committed_tcb: tcb(r.committedTcb),
    launch_tcb: tcb(r.launchTcb),
    platform_info: u64(r.platformInfo),
    firmware: { current: r.current, committed: r.committed },
  };
}
