/**
 * The attested channel to the vault. The first TLS connection fetches an
 * attestation with a fresh nonce and verifies it by its platform's policy,
 * if the client accepts that platform (src/attestation — Nitro: pinned root,
 * pinned PCRs, nonce, freshness, debug rule; SEV-SNP: VCEK → pinned ASK/ARK,
 * measurement, minimum TCB, debug rule, report_data binding, nonce); the
 * attested public_key must be that connection's certificate key. That SPKI is then
 * pinned: every later connection must present a pinned key, or (after the vault
 * renewed its key, or on another replica behind the same address, each with
 * its own key) attest the new one first on that connection; until then
 * nothing is sent. The channel keeps the last few keys it attested.
 * Each request runs on its own freshly checked TLS 1.3 connection, so no
 * byte of a request is written before the peer's key was compared.
 */
import { X509Certificate, randomBytes, type KeyObject } from 'node:crypto';
import { Agent, request as httpRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import {
  AttestationError, SNP_EVIDENCE_TYPE, verifyAttestation, verifySnpEvidence, type AttestationDocument, type Tcb, type VerifiedSnpReport,
} from '../../attestation/index.js';
import { EbakError } from '../../errors.js';
import type { VaultPlatform } from '../enclave/attester.js';
import type { ErrorBody } from '../protocol.js';
import { VaultError } from './errors.js';

/** The trust in a vault: which platforms it may attest with, and each platform's policy. */
export interface VaultTrust {
  /** Nitro: the dev CA root in simulation, awsNitroRootG1() in production. */
  root: X509Certificate;
  /** Nitro: PCR index → hex, from the measurement file that ships with the client. */
  pcrs: Readonly<Record<number, string>>;
  /** Both platforms: accept a debug-mode enclave or guest (testing only). */
  allowDebug?: boolean;
  maxAgeSeconds?: number;
  now?: () => Date;
  /** The platforms the operator accepts (default: nitro only). */
  platforms?: readonly VaultPlatform[];
  /** SEV-SNP's policy, needed when `platforms` holds sev-snp. */
  snp?: SnpTrust;
}

export interface SnpTrust {
  /** The ASK and ARK (PEM) the vault's VCEK must chain to; the ARK in it is the pinned root (AMD's, or a dev chain's). */
  chain: Uint8Array;
  /** The chain's self-signed ARK: the pinned root. */
  roots: readonly X509Certificate[];
  /** The launch measurement, 48 bytes. */
  measurement: Uint8Array;
  minTcb?: Tcb;
}

/** What a verified attestation said, on either platform. */
export interface VaultAttestation {
  platform: VaultPlatform;
  /** The attested TLS key, DER SPKI. */
  publicKey: Uint8Array | null;
  nitro?: AttestationDocument;
  snp?: VerifiedSnpReport;
}

/** The platform an attestation answer is in, by its content type (docs/vault.md, "Attested TLS"). */
const PLATFORM_OF_TYPE: Readonly<Record<string, VaultPlatform>> = { 'application/cbor': 'nitro', [SNP_EVIDENCE_TYPE]: 'sev-snp' };

export interface Response {
  status: number;
  body: Buffer;
  type: string;
}

const MAX_RESPONSE = 8 * 1024 * 1024;
const TIMEOUT_MS = 30_000;
/** Idle keep-alive connections close before the vault's 5 s keep-alive timeout would, to avoid reusing a closing one. */
const IDLE_MS = 4_000;
/** Keys kept pinned (a renewal, or replicas behind one address), and new keys attested for one connection at most. */
const MAX_PINNED = 8;
const MAX_NEW_KEYS = 4;

/** A keep-alive pool whose every new connection is a pinned, checked one. */
class PinnedAgent extends Agent {
  constructor(private readonly connectPinned: () => Promise<TLSSocket>) {
    super({ keepAlive: true, timeout: IDLE_MS });
  }

  override createConnection(_options: unknown, done?: (err: Error | null, stream: Duplex) => void): undefined {
    this.connectPinned().then((s) => done?.(null, s), (e: Error) => done?.(e, undefined as unknown as Duplex));
    return undefined;
  }
}

export class AttestedChannel {
  private readonly agent: PinnedAgent;
  /** TLS connections opened for requests (each one checked against the pin). */
  connections = 0;

  /** Attestations verified (1 at open; one more each time the vault's TLS key changed). */
  attestations = 1;

  /** The keys this channel attested, newest first (replicas behind one address each have their own). */
  private readonly pinned: Buffer[];

  private constructor(readonly url: URL, private readonly trust: VaultTrust, pinned: Buffer, public document: VaultAttestation) {
    this.pinned = [pinned];
    this.agent = new PinnedAgent(() => this.pinnedSocket());
  }

  /** Connects, verifies the vault's attestation and pins its TLS key. */
  static async open(url: string, trust: VaultTrust): Promise<AttestedChannel> {
    const u = parseVaultUrl(url);
    const { spki, doc } = await attest(u, await tlsConnect(u, trust), trust);
    return new AttestedChannel(u, trust, spki, doc);
  }

  /** One request over a kept-alive connection whose key equals the pinned one. */
  async request(method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<Response> {
    try {
      return await exchange(this.url, { agent: this.agent }, method, path, body, token);
    } catch (e) {
      if (!(e instanceof StaleConnection)) throw e;
      // The vault had closed that idle connection (keep-alive timeout, restart) before reading the request: once more on a new one.
      return exchange(this.url, { socket: await this.pinnedSocket() }, method, path, body, token);
    }
  }

  /** Closes the idle connections (open ones close when their request ends). */
  close(): void {
    this.agent.destroy();
  }

  /**
   * A connection whose key is the pinned one. A vault renews its TLS key
   * before the certificate expires (and makes a new one when it restarts):
   * a new key is attested on its own connection, before anything else is
   * sent, then pinned; a key no valid attestation binds is refused.
   */
  private async pinnedSocket(attested = 0): Promise<TLSSocket> {
    this.connections++;
    const socket = await tlsConnect(this.url, this.trust);
    const key = spkiOf(socket);
    if (this.pinned.some((k) => k.equals(key))) return socket;
    if (attested >= MAX_NEW_KEYS) {
      socket.destroy();
      throw new AttestationError('signature', `the vault presented ${MAX_NEW_KEYS} new TLS keys in a row, each attested, and then another; refusing to send anything`);
    }
    const { spki, doc } = await attest(this.url, socket, this.trust);
    this.pinned.unshift(spki);
    this.pinned.splice(MAX_PINNED);
    this.document = doc;
    this.attestations++;
    return this.pinnedSocket(attested + 1);
  }

  /** Raw bytes to any path (fuzz tests, diagnostics): a pinned connection of its own, closed after, no JSON encoding. */
  async requestRaw(method: string, path: string, body?: Buffer, token?: string): Promise<Response> {
    return exchange(this.url, { socket: await this.pinnedSocket() }, method, path, body, token, true);
  }

  /** POST/GET expecting JSON 200; a refusal becomes a VaultError carrying the vault's code. */
  async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, token?: string): Promise<T> {
    const r = await this.request(method, path, body, token);
    const json = parseJson(r.body);
    if (r.status === 200) return json as T;
    throw refusal(r.status, json);
  }
}

/** Fetches and verifies an attestation on `socket` (which it uses up); its public_key must be the socket's key. */
async function attest(u: URL, socket: TLSSocket, trust: VaultTrust): Promise<{ spki: Buffer; doc: VaultAttestation }> {
  const spki = spkiOf(socket);
  const nonce = randomBytes(32);
  const r = await exchange(u, { socket }, 'GET', `/v1/attestation?nonce=${nonce.toString('hex')}`);
  const platform = r.status === 200 ? PLATFORM_OF_TYPE[r.type] : undefined;
  if (!platform) throw new EbakError('ATTESTATION', `the vault at ${u.host} gave no attestation document (HTTP ${r.status})`, { hint: 'is this an ebak vault?' });
  const accepted = trust.platforms ?? ['nitro'];
  if (!accepted.includes(platform)) throw new AttestationError('platform', `the vault at ${u.host} attests with ${platform}, a platform this client does not accept (${accepted.join(', ')})`, { hint: 'accept it with --vault-platform / EBAK_VAULT_PLATFORM' });
  const doc = platform === 'nitro' ? verifyNitro(r.body, nonce, trust) : verifySnp(r.body, nonce, trust);
  if (!doc.publicKey || !spki.equals(Buffer.from(doc.publicKey))) {
    throw new AttestationError('signature', "the vault's TLS key is not the key its attestation document binds (public_key): the connection does not end in the attested vault");
  }
  return { spki, doc };
}

function verifyNitro(body: Buffer, nonce: Buffer, trust: VaultTrust): VaultAttestation {
  const doc = verifyAttestation(body, { root: trust.root, pcrs: trust.pcrs, nonce, allowDebug: trust.allowDebug ?? false, maxAgeSeconds: trust.maxAgeSeconds ?? 300, at: trust.now?.() ?? new Date() });
  return { platform: 'nitro', publicKey: doc.publicKey, nitro: doc };
}

/** SNP reports carry no time: the nonce inside the report_data binding is their freshness. */
function verifySnp(body: Buffer, nonce: Buffer, trust: VaultTrust): VaultAttestation {
  const snp = trust.snp;
  if (!snp) throw new EbakError('USAGE', 'the client accepts sev-snp but has no SEV-SNP policy (--snp-chain)');
  const { evidence, verified } = verifySnpEvidence(body, {
    chain: snp.chain, roots: snp.roots, measurement: snp.measurement, nonce, allowDebug: trust.allowDebug ?? false,
    at: trust.now?.() ?? new Date(), ...(snp.minTcb ? { minTcb: snp.minTcb } : {}),
  });
  return { platform: 'sev-snp', publicKey: evidence.publicKey, snp: verified };
}

function refusal(status: number, json: unknown): VaultError {
  const e = (json as ErrorBody | undefined)?.error;
  if (!e || typeof e.code !== 'string' || typeof e.message !== 'string') return new VaultError('internal', `the vault answered HTTP ${status} without an error body`);
  const err = new VaultError(e.code, `vault refused: ${e.message.slice(0, 300)}`, e.tries_left);
  if (typeof e.retry_after === 'number' && e.retry_after > 0) err.retryAfter = e.retry_after;
  return err;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

export function parseVaultUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new EbakError('USAGE', `${JSON.stringify(url)} is not a vault URL; give https://host:port`);
  }
  if (u.protocol !== 'https:' || u.pathname !== '/' || u.search !== '' || u.username !== '') throw new EbakError('USAGE', `${url} is not a vault URL; give https://host:port`);
  return u;
}

function hostOf(u: URL): string {
  return u.hostname.replace(/^\[|\]$/g, '');
}

function unreachable(u: URL, e: unknown): EbakError {
  const code = (e as NodeJS.ErrnoException)?.code ?? (e as Error)?.message;
  return new EbakError('VAULT', `the vault at ${u.host} is unreachable (${code})`, { cause: e, hint: 'check the URL and that `ebak vault serve` is running' });
}

function tlsConnect(u: URL, trust: VaultTrust): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    // The certificate is self-signed by design: trust comes from the attestation, checked by the caller.
    const socket = connect({ host: hostOf(u), port: Number(u.port || 443), rejectUnauthorized: false, minVersion: 'TLSv1.3', ALPNProtocols: ['http/1.1'] });
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error('ETIMEDOUT')));
    socket.once('secureConnect', () => {
      try {
        checkCertificateTime(socket, trust.now?.() ?? new Date());
        resolve(socket);
      } catch (e) {
        socket.destroy();
        reject(e);
      }
    });
    socket.once('error', (e) => reject(unreachable(u, e)));
  });
}

/** Node 20 returns the peer certificate only on the first getPeerX509Certificate() call: keep it. */
const peers = new WeakMap<TLSSocket, X509Certificate>();

function peer(socket: TLSSocket): X509Certificate {
  const cert = peers.get(socket) ?? socket.getPeerX509Certificate();
  if (!cert) throw new AttestationError('signature', 'the vault presented no TLS certificate');
  peers.set(socket, cert);
  return cert;
}

function checkCertificateTime(socket: TLSSocket, now: Date): void {
  const cert = peer(socket);
  if (Date.parse(cert.validTo) < now.getTime()) throw new EbakError('ATTESTATION', `the vault's TLS certificate expired at ${new Date(cert.validTo).toISOString()}`, { hint: 'restart the vault (it makes a new key and certificate at boot) or fix the clock' });
  if (Date.parse(cert.validFrom) > now.getTime() + 60_000) throw new EbakError('ATTESTATION', `the vault's TLS certificate is not valid until ${new Date(cert.validFrom).toISOString()}; check the clocks`);
}

function spkiOf(socket: TLSSocket): Buffer {
  return (peer(socket).publicKey as KeyObject).export({ type: 'spki', format: 'der' });
}

/** A reused keep-alive connection was reset before any answer: the peer had closed it. */
class StaleConnection extends Error {}

/** A checked socket used once (then closed), or the channel's keep-alive pool. */
type Via = { socket: TLSSocket } | { agent: Agent };

function exchange(u: URL, via: Via, method: string, path: string, body?: unknown, token?: string, raw = false): Promise<Response> {
  const payload = body === undefined ? undefined : raw ? (body as Buffer) : Buffer.from(JSON.stringify(body));
  const connection = 'agent' in via ? { agent: via.agent } : { createConnection: () => via.socket };
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({
      method, path, host: hostOf(u), port: Number(u.port || 443), ...connection,
      headers: {
        connection: 'agent' in via ? 'keep-alive' : 'close',
        ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        // A device token, or a whole operator authorization (operator.ts).
        ...(token ? { authorization: token.startsWith('EbakOperator ') ? token : `Bearer ${token}` } : {}),
      },
    }, (res: IncomingMessage) => {
      answered = true;
      const parts: Buffer[] = [];
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        if (size > MAX_RESPONSE) req.destroy(new Error('response too large'));
        else parts.push(d);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts), type: String(res.headers['content-type'] ?? '') }));
      res.on('error', (e) => reject(unreachable(u, e)));
    });
    req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error('ETIMEDOUT')));
    req.on('error', (e) => {
      const stale = req.reusedSocket && !answered && (e as NodeJS.ErrnoException).code === 'ECONNRESET';
      reject(e instanceof EbakError ? e : stale ? new StaleConnection() : unreachable(u, e));
    });
    req.end(payload);
  });
}
