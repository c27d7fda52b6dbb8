/**
 * The vault server (the enclave application): boots the sealed state, the
 * audit log, the attested TLS identity and the HTTPS front. The same code
 * runs simulated (SimulatedNsm, any machine) and in a Nitro Enclave
 * (src/vault/nitro: NSM attestation, vsock). docs/vault.md is the reference.
 */
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { EbakError } from '../../errors.js';
import type { Pkcs11Hsm } from '../../hsm/index.js';
import { AuditLog } from '../audit/log.js';
import { auditKeyBinding } from '../audit/entry.js';
import { TokenCounters } from '../state/monotonic.js';
import { SealedState, VAULT_RING } from '../state/sealed.js';
import type { StateStore } from '../state/store.js';
import { createFront, type Attester } from './http.js';
import { VaultService, type ServiceOptions } from './service.js';
import { createTlsIdentity } from './tls.js';

export type { Attester } from './http.js';

export interface VaultOptions extends ServiceOptions {
  store: StateStore;
  hsm: Pkcs11Hsm;
  attester: Attester;
  mode?: 'simulated' | 'nitro';
  host?: string;
  port?: number;
  /** TLS certificate lifetime (a new key and certificate at every boot). */
  tlsLifetimeSeconds?: number;
  log?: (line: string) => void;
}

export interface RunningVault {
  url: string;
  port: number;
  service: VaultService;
  state: SealedState;
  tlsSpki: Buffer;
  close(): Promise<void>;
}

/** Creates the vault's wrap ring in the token on first boot. */
async function ensureRing(hsm: Pkcs11Hsm): Promise<void> {
  if (!(await hsm.keys()).some((k) => k.ring === VAULT_RING && k.state === 'active')) await hsm.createRing(VAULT_RING, 'wrap');
}

export async function startVault(o: VaultOptions): Promise<RunningVault> {
  const now = o.now ?? (() => new Date());
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  await ensureRing(o.hsm);
  const state = new SealedState(o.store, o.hsm, new TokenCounters(o.hsm.token));
  const audit = new AuditLog(state, now);
  const service = new VaultService(state, audit, o);
  await service.init();
  const tls = createTlsIdentity(now(), o.tlsLifetimeSeconds ?? 7 * 24 * 3600);
  const userData = auditKeyBinding(audit.publicKey);
  const mode = o.mode ?? 'simulated';
  await audit.boot(await o.attester.attest({ publicKey: tls.spki, userData }), { mode, module_id: o.attester.moduleId });
  const server = createFront({ service, attester: o.attester, tls, mode, userData, log });
  await listen(server, o.host ?? '127.0.0.1', o.port ?? 0);
  const sweeper = setInterval(() => void Promise.all(service.sweep()), 5_000);
  sweeper.unref();
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://${o.host ?? '127.0.0.1'}:${port}`, port, service, state, tlsSpki: tls.spki,
    close: async () => {
      clearInterval(sweeper);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await Promise.all(service.sweep());
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new EbakError('VAULT', `cannot listen on ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e })));
    server.listen(port, host, () => resolve());
  });
}
