/**
 * Test helpers: a real vault on 127.0.0.1 (real TLS, SoftHSM2 token, SQLite
 * file) whose enclave secrets come from a real simulated key service over
 * HTTPS (the KMS Recipient protocol, the AWS SDK client), and a trusting client.
 *
 * The lab keeps apart what the attacker holds and what stands in for the
 * platform: `dir` (the vault's state), the token and its PIN, and the key
 * service's API (URL, CA, credentials) are the host's; the dev CA's private
 * keys (the Nitro hypervisor) and `ksDir` (KMS's own HSMs) are not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa, SimulatedNsm, type DevCa } from '../../src/attestation/index.js';
import { Pkcs11Hsm } from '../../src/hsm/index.js';
import { RecipientKms, type RecipientAttester } from '../../src/kms/client.js';
import { createKey, startKeyService, type KeyService } from '../../src/kms/simulated/index.js';
import { vaultBundle, vaultKeyPolicy, vaultMeasurements } from '../../src/vault/measure.js';
import { VaultClient, type ClientOptions } from '../../src/vault/client/client.js';
import { VaultError } from '../../src/vault/client/errors.js';
import type { VaultTrust } from '../../src/vault/client/transport.js';
import { startVault, type RunningVault, type VaultOptions } from '../../src/vault/server/index.js';
import { SqliteStore } from '../../src/vault/state/sqlite.js';
import type { StateStore } from '../../src/vault/state/store.js';
import { softhsm, type SoftHsm } from '../hsm/softhsm.js';

export const KS_CREDENTIALS = { accessKeyId: 'AKIAEBAKTESTHOST0001', secretAccessKey: 'host-held-secret-for-the-key-service-api' };

export interface Lab {
  dir: string;
  ksDir: string;
  token: SoftHsm;
  ca: DevCa;
  nsm: SimulatedNsm;
  trust: VaultTrust;
  keyService: KeyService;
  keyId: string;
  /** A key service client attesting with `attester` (default: the genuine vault's NSM). */
  kms(attester?: RecipientAttester): RecipientKms;
  /** Starts a vault on this lab's token; `store` defaults to the lab's SQLite file. */
  start(opts?: Partial<VaultOptions>): Promise<Running>;
  cleanup(): Promise<void>;
}

export interface Running extends RunningVault {
  hsm: Pkcs11Hsm;
  store: StateStore;
  client(o?: ClientOptions): Promise<VaultClient>;
  stop(): Promise<void>;
}

export async function lab(): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'ebak-vault-'));
  const ksDir = mkdtempSync(join(tmpdir(), 'ebak-ks-'));
  const token = softhsm(['vault']);
  const ca = createDevCa();
  const nsm = new SimulatedNsm(ca, { bundle: vaultBundle() });
  const m = vaultMeasurements();
  const trust: VaultTrust = { root: ca.root.cert, pcrs: { 0: m.PCR0, 1: m.PCR1, 2: m.PCR2 } };
  const keyService = await startKeyService({ dir: ksDir, root: ca.root.cert, credentials: KS_CREDENTIALS });
  const { KeyId: keyId } = await createKey(ksDir, { policy: vaultKeyPolicy(m) });
  const clients: RecipientKms[] = [];
  const running: Running[] = [];
  const kms = (attester: RecipientAttester = nsm) => {
    const c = new RecipientKms({ keyId, region: 'us-east-1', endpoint: keyService.url, ca: keyService.ca, credentials: KS_CREDENTIALS, attester });
    clients.push(c);
    return c;
  };
  const l: Lab = {
    dir, ksDir, token, ca, nsm, trust, keyService, keyId, kms,
    async start(opts = {}) {
      const hsm = await Pkcs11Hsm.open(token.config('vault'));
      const store = opts.store ?? SqliteStore.open(join(dir, 'state.db'));
      const v = await startVault({ hsm, store, attester: nsm, keyService: kms(), registration: 'open', log: (l: string) => { if (process.env.EBAK_TEST_VAULT_LOG) process.stderr.write(l + '\n'); }, ...opts });
      const r: Running = {
        ...v, hsm, store,
        client: (o?: ClientOptions) => VaultClient.connect(v.url, trust, o),
        stop: async () => {
          running.splice(running.indexOf(r), 1);
          await v.close();
          await store.close();
          await hsm.close();
        },
      };
      running.push(r);
      return r;
    },
    async cleanup() {
      for (const r of [...running]) await r.stop();
      for (const c of clients) c.close();
      await keyService.close();
      token.cleanup();
      rmSync(dir, { recursive: true, force: true });
      rmSync(ksDir, { recursive: true, force: true });
    },
  };
  return l;
}

export const RECOVERY = '1234567890123456789012345678901234567890123456789012345678901234';
export const K = Buffer.alloc(32, 7);

/** A rejection predicate: the vault refused with `code`. */
export const refused = (code: string) => (e: unknown) => e instanceof VaultError && e.vaultCode === code;
