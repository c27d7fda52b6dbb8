/**
 * Boot wiring of the vault (the enclave application): the enclave's own keys
 * from the attestation-gated key service (enclave/root.ts), the sealed state
 * under the HSM's rollback guard, the audit log, the attested TLS identity
 * (renewed, and re-attested by clients, before it expires) and the HTTPS
 * front (behind a TCP listener that reads PROXY v2 headers when proxies are
 * configured, proxy.ts). The same code runs simulated (SimulatedNsm and the simulated key
 * service, any machine) and in a Nitro Enclave (NSM attestation, AWS KMS,
 * vsock): only the attester and the key service's address differ.
 */
import type { KeyObject } from 'node:crypto';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { EbakError } from '../../errors.js';
import type { Hsm, HsmSessions, SessionOptions } from '../../hsm/index.js';
import type { EnclaveKeys } from '../enclave/keys.js';
import { AuditLog } from '../audit/log.js';
import { auditKeyBinding } from '../audit/entry.js';
import { unlockEnclave, type KeyService } from '../enclave/root.js';
import { SealedState, VAULT_RING } from '../state/sealed.js';
import type { StateStore } from '../state/store.js';
import { createFront, type Attester } from './http.js';
import { proxyList, proxyListener } from './proxy.js';
import { VaultService, type ServiceOptions } from './service.js';
import { createTlsIdentity, type TlsIdentity } from './tls.js';

export interface VaultOptions extends ServiceOptions {
  store: StateStore;
  hsm: Hsm;
  /** The HSM session pool the sealed state uses, off the event loop (default: 2 sessions). */
  hsmSessions?: SessionOptions;
  attester: Attester;
  /** Releases the enclave root secret to this enclave's attestation only. */
  keyService: KeyService;
  mode?: 'simulated' | 'nitro';
  host?: string;
  port?: number;
  /** TLS certificate lifetime; a new key and certificate replace it when a third of it is left. */
  tlsLifetimeSeconds?: number;
  /** Open connections at most; more are refused at accept. */
  maxConnections?: number;
  operatorKey?: KeyObject;
  /** Proxies (CIDRs) whose connections start with a PROXY protocol v2 header naming the client (proxy.ts). */
  proxyFrom?: readonly string[];
  log?: (line: string) => void;
}

export interface RunningVault {
  url: string;
  port: number;
  service: VaultService;
  state: SealedState;
  /** The TLS key clients pin (it changes at renewal). */
  tlsSpki(): Buffer;
  close(): Promise<void>;
}

/** Creates the vault's wrap ring in the token on first boot. */
async function ensureRing(hsm: Hsm): Promise<void> {
  if (!(await hsm.keys()).some((k) => k.ring === VAULT_RING && k.state === 'active')) await hsm.createRing(VAULT_RING, 'wrap');
}

export async function startVault(o: VaultOptions): Promise<RunningVault> {
  const now = o.now ?? (() => new Date());
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  await ensureRing(o.hsm);
  const keys = await unlockEnclave(o.store, o.keyService);
  const sessions = await o.hsm.sessions(o.hsmSessions);
  try {
    return await serveOn(o, keys, sessions, now, log);
  } catch (e) {
    await sessions.close();
    throw e;
  }
}

async function serveOn(o: VaultOptions, keys: EnclaveKeys, sessions: HsmSessions, now: () => Date, log: (l: string) => void): Promise<RunningVault> {
  const state = await SealedState.open(o.store, sessions, keys.records);
  const audit = new AuditLog(state, now);
  const service = await VaultService.create(state, audit, keys, o);
  const lifetime = o.tlsLifetimeSeconds ?? 7 * 24 * 3600;
  let tls = createTlsIdentity(now(), lifetime);
  const userData = auditKeyBinding(audit.publicKey);
  const mode = o.mode ?? 'simulated';
  await audit.boot(await o.attester.attest({ publicKey: tls.spki, userData }), { mode, module_id: o.attester.moduleId });
  const server = createFront({ service, attester: o.attester, tls: () => tls, mode, userData, log, now, operatorKey: o.operatorKey, clientAddress: (s) => proxy?.clientAddress(s) });
  // With proxies configured, a plain TCP listener reads their PROXY headers and hands every connection to the TLS server.
  const proxy = o.proxyFrom?.length ? proxyListener(server, proxyList(o.proxyFrom), log) : undefined;
  const listener = proxy?.server ?? server;
  listener.maxConnections = o.maxConnections ?? 1024;
  await listen(listener, o.host ?? '127.0.0.1', o.port ?? 0);
  const renew = () => {
    tls = createTlsIdentity(now(), lifetime);
    server.setSecureContext({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' });
    log(`vault: TLS key renewed (valid until ${tls.notAfter.toISOString()}); clients re-attest on their next connection`);
  };
  const timers = [setInterval(() => void Promise.all(service.sweep()), 5_000), renewal(() => tls, now, renew)];
  for (const t of timers) t.unref();
  const port = (listener.address() as AddressInfo).port;
  return {
    url: `https://${o.host ?? '127.0.0.1'}:${port}`, port, service, state, tlsSpki: () => tls.spki,
    close: async () => {
      for (const t of timers) clearInterval(t);
      server.closeAllConnections();
      await new Promise<void>((r) => listener.close(() => r()));
      if (proxy) await new Promise<void>((r) => server.close(() => r()));
      await Promise.all(service.sweep());
      await service.close();
      await sessions.close();
    },
  };
}

/** Checks every minute (or sooner for short lifetimes) whether a third of the certificate's life is left. */
function renewal(current: () => TlsIdentity, now: () => Date, renew: () => void): NodeJS.Timeout {
  const t = current();
  const period = Math.max(1000, Math.min(60_000, (t.notAfter.getTime() - now().getTime()) / 10));
  let issued = now().getTime();
  return setInterval(() => {
    const left = current().notAfter.getTime() - now().getTime();
    if (left <= (current().notAfter.getTime() - issued) / 3) {
      renew();
      issued = now().getTime();
    }
  }, period);
}

function listen(server: NetServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new EbakError('VAULT', `cannot listen on ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? e.message}`, { cause: e })));
    server.listen(port, host, () => resolve());
  });
}
