/** Test helpers: a real vault on 127.0.0.1 (real TLS, SoftHSM2 token, SQLite file) and a trusting client. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa, SimulatedNsm, type DevCa } from '../../src/attestation/index.js';
import { Pkcs11Hsm } from '../../src/hsm/index.js';
import { vaultBundle, vaultMeasurements } from '../../src/vault/measure.js';
import { VaultClient } from '../../src/vault/client/client.js';
import type { VaultTrust } from '../../src/vault/client/transport.js';
import { startVault, type RunningVault, type VaultOptions } from '../../src/vault/server/index.js';
import { SqliteStore } from '../../src/vault/state/sqlite.js';
import type { StateStore } from '../../src/vault/state/store.js';
import { softhsm, type SoftHsm } from '../hsm/softhsm.js';

export interface Lab {
  dir: string;
  token: SoftHsm;
  ca: DevCa;
  nsm: SimulatedNsm;
  trust: VaultTrust;
  /** Starts a vault on this lab's token; `store` defaults to the lab's SQLite file. */
  start(opts?: Partial<VaultOptions>): Promise<Running>;
  cleanup(): Promise<void>;
}

export interface Running extends RunningVault {
  hsm: Pkcs11Hsm;
  store: StateStore;
  client(): Promise<VaultClient>;
  stop(): Promise<void>;
}

export async function lab(): Promise<Lab> {
  const dir = mkdtempSync(join(tmpdir(), 'ebak-vault-'));
  const token = softhsm(['vault']);
  const ca = createDevCa();
  const nsm = new SimulatedNsm(ca, { bundle: vaultBundle() });
  const m = vaultMeasurements();
  const trust: VaultTrust = { root: ca.root.cert, pcrs: { 0: m.PCR0, 1: m.PCR1, 2: m.PCR2 } };
  const running: Running[] = [];
  const l: Lab = {
    dir, token, ca, nsm, trust,
    async start(opts = {}) {
      const hsm = await Pkcs11Hsm.open(token.config('vault'));
      const store = opts.store ?? SqliteStore.open(join(dir, 'state.db'));
      const v = await startVault({ hsm, store, attester: nsm, log: () => {}, ...opts });
      const r: Running = {
        ...v, hsm, store,
        client: () => VaultClient.connect(v.url, trust),
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
      token.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return l;
}

export const RECOVERY = '1234567890123456789012345678901234567890123456789012345678901234';
export const K = Buffer.alloc(32, 7);
