/**
 * The enclave's attesters: what answers `GET /v1/attestation` (the server's
 * Attester port, server/http.ts) on each platform, and what attests to the key
 * service (KMS Recipient).
 *
 *   nitro    the NSM (nitro mode) or SimulatedNsm under the dev CA: a Nitro document.
 *   sev-snp  SnpAttester over an SnpReporter: SNP evidence (attestation/snp/evidence.ts),
 *            whose report_data binds the TLS key, user_data and nonce. Here the
 *            reporter is SimulatedSnp under the dev SEV-SNP chain. A real guest's
 *            reporter asks /dev/sev-guest for SNP_GET_EXT_REPORT (the report and
 *            the host's certificate table with the VCEK); this machine has no
 *            /dev/sev-guest, so that one class is not built, and `--mode nitro`
 *            with `--platform sev-snp` is refused.
 *
 * Key release stays Nitro's on both platforms: the key service (AWS KMS's
 * Recipient, and the simulated one) accepts Nitro documents only, so the
 * simulated SNP vault still obtains its root secret with a simulated Nitro
 * document of the same code bundle (docs/vault.md, "SEV-SNP"). An SNP key
 * release (GCP Confidential Space tokens, Azure Secure Key Release) is not built.
 */
import { loadDevCa, loadDevSnpChain, SimulatedNsm, SimulatedSnp, SNP_EVIDENCE_TYPE, encodeSnpEvidence, snpLaunchMeasurement, snpReportData } from '../../attestation/index.js';
import { EbakError } from '../../errors.js';
import type { RecipientAttester } from '../../kms/client.js';
import { vaultBundle } from '../measure.js';
import { NsmAttester } from '../nitro/nsm.js';
import type { Attester } from '../server/index.js';

export type VaultPlatform = 'nitro' | 'sev-snp';
export const VAULT_PLATFORMS: readonly VaultPlatform[] = ['nitro', 'sev-snp'];

/** What an SNP guest's firmware gives: signed reports, and the VCEK that signs them. */
export interface SnpReporter {
  /** The VCEK certificate, DER. */
  readonly vcek: Uint8Array;
  readonly chipId: Uint8Array;
  report(reportData: Uint8Array): Uint8Array | Promise<Uint8Array>;
}

export class SnpAttester implements Attester {
  readonly contentType = SNP_EVIDENCE_TYPE;
  /** An SNP guest has one launch measurement and no PCRs. */
  readonly pcrs: ReadonlyMap<number, Uint8Array> = new Map();
  readonly moduleId: string;

  constructor(private readonly reporter: SnpReporter) {
    this.moduleId = `snp-${Buffer.from(reporter.chipId).toString('hex').slice(0, 16)}`;
  }

  async attest(request: { publicKey?: Uint8Array; userData?: Uint8Array; nonce?: Uint8Array }): Promise<Uint8Array> {
    if (!request.publicKey) throw new EbakError('USAGE', 'SNP evidence binds a public key; none was given');
    const userData = request.userData ?? new Uint8Array(0);
    const nonce = request.nonce ?? new Uint8Array(0);
    const report = await this.reporter.report(snpReportData(request.publicKey, userData, nonce));
    return encodeSnpEvidence({ publicKey: request.publicKey, userData, nonce, vcek: this.reporter.vcek, report });
  }
}

export type AttestationSource = { devca: string; snpDevchain?: string } | { nsmHelper: string };

/** The vault's attester for `platform`, and the key service's (Nitro on both; see the header). */
export async function attestersFor(platform: VaultPlatform, source: AttestationSource): Promise<{ vault: Attester; keyRelease: RecipientAttester }> {
  if ('nsmHelper' in source) {
    if (platform !== 'nitro') throw new EbakError('USAGE', 'a real SEV-SNP guest reads /dev/sev-guest, which is not built; --platform sev-snp runs in simulated mode only');
    const nsm = new NsmAttester(source.nsmHelper);
    return { vault: nsm, keyRelease: nsm };
  }
  const bundle = vaultBundle();
  const nsm = new SimulatedNsm(await loadDevCa(source.devca), { bundle });
  if (platform === 'nitro') return { vault: nsm, keyRelease: nsm };
  if (!source.snpDevchain) throw new EbakError('USAGE', 'a simulated SEV-SNP vault needs its dev SEV-SNP chain directory');
  const snp = new SimulatedSnp(await loadDevSnpChain(source.snpDevchain), { measurement: snpLaunchMeasurement(bundle) });
  return { vault: new SnpAttester({ vcek: snp.chain.vcek.cert.raw, chipId: snp.chain.chipId, report: (d) => snp.report(d) }), keyRelease: nsm };
}
