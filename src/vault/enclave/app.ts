/**
 * The enclave application: what runs inside the enclave image, assembled
 * from typed options (the CLI's `vault serve` only parses flags into them).
 * This module is the entry of the vault's measurement (measure.ts), so PCR0
 * covers every file the enclave runs: the key service client and its CMS
 * opening, the HSM provider and its counters, the sealed state, the service.
 *
 * Boot order, so nothing secret is ever read from the host's environment in
 * nitro mode:
 *   1. the attesters (attester.ts: Nitro: the NSM; simulated: a dev CA standing
 *      in for the Nitro hypervisor's signing key; SEV-SNP, simulated: a dev
 *      ARK → ASK → VCEK chain standing in for AMD's);
 *   2. the key service client (AWS KMS, or the simulated key service: the
 *      same Recipient protocol), which releases secrets to this attestation only;
 *   3. the HSM PIN: decrypted by the key service from a provisioned blob
 *      (in nitro mode the only way);
 *   4. the delete credentials, if given: a provisioned blob opened the same
 *      way (or, simulated only, a plaintext file), checked before anything opens;
 *   5. the state store and the vault itself (server/boot.ts).
 */
import type { KeyObject } from 'node:crypto';
import { EbakError } from '../../errors.js';
import { Pkcs11Hsm, type AuditEvent, type Pkcs11Config } from '../../hsm/index.js';
import { RecipientKms, type KmsClientOptions } from '../../kms/client.js';
import type { Deleters } from '../server/deletion.js';
import { startVault, type RunningVault } from '../server/index.js';
import type { ServiceOptions } from '../server/service.js';
import { openStore } from '../state/open.js';
import { attestersFor, type AttestationSource, type VaultPlatform } from './attester.js';
import { unsealSecret, type Unseal } from './secrets.js';

export interface EnclaveAppOptions extends Omit<ServiceOptions, 'deleters'> {
  mode: 'simulated' | 'nitro';
  /** What the vault attests with (default nitro); sev-snp is simulated only. */
  platform?: VaultPlatform;
  /** simulated: the dev CA directory (and the dev SEV-SNP chain's); nitro: the NSM helper's path. */
  attestation: AttestationSource;
  kms: Omit<KmsClientOptions, 'attester'>;
  /** The PKCS#11 module and token; the PIN is given (simulated only) or decrypted from `pinBlob`. */
  hsm: Omit<Pkcs11Config, 'pin'> & { pin?: string; pinBlob?: Uint8Array };
  state: string;
  host: string;
  port: number;
  operatorKey?: KeyObject;
  /**
   * The delete credentials (docs/retention.md), made once the key service
   * client exists so a provisioned blob is opened with this enclave's
   * attestation (`unseal`); they stay in this process's memory only.
   */
  deleters?: (unseal: Unseal) => Promise<Deleters>;
  /** Proxies (CIDRs) that send PROXY protocol v2 headers (server/proxy.ts). */
  proxyFrom?: readonly string[];
  log: (line: string) => void;
}

export interface EnclaveApp {
  vault: RunningVault;
  close(): Promise<void>;
}

async function hsmPin(o: EnclaveAppOptions, kms: RecipientKms): Promise<string> {
  if (o.hsm.pinBlob) {
    const pin = await unsealSecret(kms, 'hsm-pin', o.hsm.pinBlob, 'the HSM PIN (--hsm-pin-kms)');
    try {
      return pin.toString('utf8');
    } finally {
      pin.fill(0);
    }
  }
  if (o.mode === 'nitro') throw new EbakError('USAGE', 'in nitro mode the HSM PIN comes only from the key service (a blob made by `ebak vault provision-pin`)', { hint: 'a PIN in the host environment lets the host use the HSM' });
  if (o.hsm.pin === undefined) throw new EbakError('USAGE', 'no HSM PIN given; set EBAK_HSM_PIN, pass --pin-file, or provision it with `ebak vault provision-pin` and pass --hsm-pin-kms');
  return o.hsm.pin;
}

/** Boot steps 3 and 4: the secrets opened with the key service before anything else opens (the client is closed if one fails). */
async function provisioned(o: EnclaveAppOptions, kms: RecipientKms): Promise<{ pin: string; deleters?: Deleters }> {
  try {
    const pin = await hsmPin(o, kms);
    const unseal: Unseal = (purpose, blob, what) => unsealSecret(kms, purpose, blob, what);
    return { pin, ...(o.deleters ? { deleters: await o.deleters(unseal) } : {}) };
  } catch (e) {
    kms.close();
    throw e;
  }
}

export async function bootEnclave(o: EnclaveAppOptions): Promise<EnclaveApp> {
  const { vault: attester, keyRelease } = await attestersFor(o.platform ?? 'nitro', o.attestation);
  const keyService = new RecipientKms({ ...o.kms, attester: keyRelease });
  const { pin, deleters } = await provisioned(o, keyService);
  // HSM lifecycle events join the vault's audit log once it exists.
  const early: AuditEvent[] = [];
  let sink: ((e: AuditEvent) => Promise<unknown>) | undefined;
  const hsm = await Pkcs11Hsm.open({ module: o.hsm.module, token: o.hsm.token, pin }, {
    audit: async (e) => void (sink ? await sink(e) : early.push(e)),
  });
  const store = await openStore(o.state);
  const vault = await startVault({ ...o, hsm, store, attester, keyService, deleters });
  sink = (e) => vault.service.audit.append(`hsm.${e.type}`, null, { ring: e.ring ?? null, version: e.version ?? null, detail: e.detail ?? null });
  for (const e of early.splice(0)) await sink(e);
  return {
    vault,
    close: async () => {
      await vault.close();
      await store.close();
      await hsm.close();
      keyService.close();
    },
  };
}
