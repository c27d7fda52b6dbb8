/**
 * The vault's HTTPS front: TLS 1.3 only, with the boot-time key the
 * attestation binds; a fixed route table; bodies read with a size cap and
 * parsed strictly (protocol.ts). Every failure is answered with a 4xx/5xx and
 * a JSON ErrorBody; no request can throw past this layer.
 */
import type { KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { checkOperatorAuthorization } from '../operator.js';
import {
  HTTP_STATUS, MAX_BODY_BYTES, MAX_HEAD_BODY_BYTES, PROTOCOL_VERSION, VaultRefusal, parseBody, parseToken, readDeviceKey, readHeadDelta, readLoginFinish,
  readLoginStart, readPolicy, readRegisterFinish, readRegisterStart, readRetentionChange, readRevoke, readRotate, readDrillRecord, readStepUp, readUnlock, readAddWriteOnly, readEnroll, readDeleteRequest, readSnapshotPacks, type ErrorBody,
  type OperatorStatusResponse, type StatusResponse,
} from '../protocol.js';
import { StateRollback } from '../state/sealed.js';
import type { Caller, VaultService } from './service.js';
import type { TlsIdentity } from './tls.js';

export interface Attester {
  readonly moduleId: string;
  readonly pcrs: ReadonlyMap<number, Uint8Array>;
  /** The content type of what attest() returns; absent: a Nitro document (application/cbor). SEV-SNP: enclave/attester.ts. */
  readonly contentType?: string;
  attest(request: { publicKey?: Uint8Array; userData?: Uint8Array; nonce?: Uint8Array }): Uint8Array | Promise<Uint8Array>;
}

export interface Front {
  service: VaultService;
  attester: Attester;
  /** The current TLS identity (renewed before it expires, boot.ts). */
  tls: () => TlsIdentity;
  mode: 'simulated' | 'nitro';
  /** Checks operator-signed requests; none: operator endpoints are refused. */
  operatorKey?: KeyObject | undefined;
  now: () => Date;
  /** user_data of every attestation document: binds the audit signing key. */
  userData: Uint8Array;
  log: (line: string) => void;
  /** The client address a proxy named for this connection (PROXY protocol v2, proxy.ts); undefined: the TCP peer. */
  clientAddress?: ((socket: Socket) => string | undefined) | undefined;
}

type Reply = { status: number; json?: unknown; cbor?: Uint8Array; type?: string | undefined };
type Handler = (req: IncomingMessage, url: URL, body: Buffer, caller: Caller) => Promise<Reply>;

const ok = (json: unknown): Reply => ({ status: 200, json });

function routes(f: Front): Record<string, Handler> {
  const s = f.service;
  const auth = (req: IncomingMessage, caller: Caller) => s.authenticate(parseToken(req.headers.authorization), caller);
  const operator = (req: IncomingMessage, url: URL) => {
    if (!f.operatorKey) throw new VaultRefusal('forbidden', 'this vault was started without an operator key (--operator-key)');
    if (!checkOperatorAuthorization(f.operatorKey, req.headers.authorization, req.method ?? '', url.pathname + url.search, f.now())) {
      throw new VaultRefusal('unauthorized', 'an operator signature is required (Authorization: EbakOperator …, made by `ebak vault … --operator-key-file`)');
    }
  };
  const status = (): StatusResponse => {
    const pcrs: Record<string, string> = {};
    for (const i of [0, 1, 2, 8]) if (f.attester.pcrs.has(i)) pcrs[`PCR${i}`] = Buffer.from(f.attester.pcrs.get(i)!).toString('hex');
    return { version: PROTOCOL_VERSION, mode: f.mode, module_id: f.attester.moduleId, pcrs };
  };
  return {
    'GET /v1/attestation': async (_req, url) => {
      const nonce = url.searchParams.get('nonce') ?? '';
      if (!/^([0-9a-f]{2}){8,64}$/.test(nonce)) throw new VaultRefusal('bad_request', 'nonce must be 16..128 hex digits');
      return { status: 200, type: f.attester.contentType, cbor: await f.attester.attest({ publicKey: f.tls().spki, userData: f.userData, nonce: Buffer.from(nonce, 'hex') }) };
    },
    'GET /v1/status': async () => ok(status()),
    'GET /v1/operator/status': async (r, u) => {
      operator(r, u);
      const body: OperatorStatusResponse = { ...status(), accounts: await s.accounts(), audit_seq: (await s.audit.head()).seq, registration: s.registration };
      return ok(body);
    },
    'GET /v1/audit/head': async (r, u) => {
      operator(r, u);
      return ok(await s.audit.signedHead());
    },
    'POST /v1/register/start': async (_r, _u, b, c) => ok(await s.registerStart(readRegisterStart(parseBody(b)), c)),
    'POST /v1/register/finish': async (_r, _u, b, c) => ok(await s.registerFinish(readRegisterFinish(parseBody(b)), c)),
    'POST /v1/login/start': async (_r, _u, b, c) => ok(await s.loginStart(readLoginStart(parseBody(b)), c)),
    'POST /v1/login/finish': async (_r, _u, b, c) => ok(await s.loginFinish(readLoginFinish(parseBody(b)), c)),
    'POST /v1/unlock': async (_r, _u, b, c) => {
      await s.unlock(readUnlock(parseBody(b)), c);
      return ok({ unlocked: true });
    },
    'POST /v1/device/key': async (r, _u, b, c) => {
      const request = readDeviceKey(parseBody(b));
      return ok(await s.deviceKey(await auth(r, c), request));
    },
    'GET /v1/devices': async (r, _u, _b, c) => ok({ devices: s.devices(await auth(r, c)) }),
    'POST /v1/devices/revoke': async (r, _u, b, c) => {
      const request = readRevoke(parseBody(b));
      return ok({ device: await s.revoke(await auth(r, c), request.device_id, request.step_up) });
    },
    'POST /v1/rotate': async (r, _u, b, c) => {
      const request = readRotate(parseBody(b));
      return ok(await s.rotate(await auth(r, c), request));
    },
    'POST /v1/step-up': async (r, _u, b, c) => {
      const request = readStepUp(parseBody(b));
      return ok(await s.stepUp(await auth(r, c), request, c));
    },
    'POST /v1/policy': async (r, _u, b, c) => {
      const request = readPolicy(parseBody(b));
      return ok({ policy: await s.setPolicy(await auth(r, c), request) });
    },
    'GET /v1/head': async (r, _u, _b, c) => ok(await s.head(await auth(r, c))),
    'POST /v1/head': async (r, _u, b, c) => {
      const delta = readHeadDelta(parseBody(b));
      return ok(await s.postHead(await auth(r, c), delta));
    },
    'GET /v1/retention': async (r, _u, _b, c) => ok(await s.retention(await auth(r, c))),
    'POST /v1/retention': async (r, _u, b, c) => {
      const change = readRetentionChange(parseBody(b));
      return ok(await s.postRetention(await auth(r, c), change));
    },
    'GET /v1/delete': async (r, _u, _b, c) => ok(await s.deleteStatus(await auth(r, c))),
    'POST /v1/delete': async (r, _u, b, c) => {
      const request = readDeleteRequest(parseBody(b));
      return ok(await s.delete(await auth(r, c), request));
    },
    'POST /v1/snapshot-packs': async (r, _u, b, c) => {
      const request = readSnapshotPacks(parseBody(b));
      return ok(await s.recordSnapshotPacks(await auth(r, c), request));
    },
    'POST /v1/devices/write-only': async (r, _u, b, c) => {
      const request = readAddWriteOnly(parseBody(b));
      return ok(await s.addWriteOnly(await auth(r, c), request));
    },
    'POST /v1/enroll': async (r, _u, b, c) => {
      readEnroll(parseBody(b));
      return ok(await s.enroll(parseToken(r.headers.authorization), c));
    },
    'POST /v1/device/renew': async (r, _u, b, c) => {
      readEnroll(parseBody(b)); // an empty body, as an enrollment's
      return ok(await s.renew(await auth(r, c)));
    },
    'GET /v1/device/credential': async (r, _u, _b, c) => ok(await s.credential(await auth(r, c))),
    'POST /v1/drills': async (r, _u, b, c) => {
      const record = readDrillRecord(parseBody(b));
      return ok(await s.recordDrill(await auth(r, c), record));
    },
    'GET /v1/audit': async (r, u, _b, c) => {
      const session = await auth(r, c);
      return ok(await s.accountEvents(session, queryInt(u, 'after', 0), queryInt(u, 'limit', 100)));
    },
  };
}

export const ROUTES = [
  'GET /v1/attestation', 'GET /v1/status', 'GET /v1/operator/status', 'GET /v1/audit/head', 'POST /v1/register/start',
  'POST /v1/register/finish', 'POST /v1/login/start', 'POST /v1/login/finish', 'POST /v1/unlock', 'POST /v1/device/key',
  'GET /v1/devices', 'POST /v1/devices/revoke', 'POST /v1/rotate', 'POST /v1/step-up', 'POST /v1/policy', 'GET /v1/head', 'POST /v1/head', 'GET /v1/audit',
  'GET /v1/retention', 'POST /v1/retention', 'GET /v1/delete', 'POST /v1/delete', 'POST /v1/snapshot-packs',
  'POST /v1/devices/write-only', 'POST /v1/enroll', 'POST /v1/device/renew', 'GET /v1/device/credential', 'POST /v1/drills',
] as const;

/** Body limits: a head delta, a deletion and a snapshot's packs may carry up to MAX_HEAD_NAMES names; every other body is small. */
const bodyLimit = (route: string) => (['POST /v1/head', 'POST /v1/delete', 'POST /v1/snapshot-packs'].includes(route) ? MAX_HEAD_BODY_BYTES : MAX_BODY_BYTES);

function queryInt(url: URL, name: string, fallback: number): number {
  const v = url.searchParams.get(name);
  if (v === null) return fallback;
  if (!/^\d{1,15}$/.test(v)) throw new VaultRefusal('bad_request', `query parameter ${name} must be a non-negative integer`);
  return Number(v);
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) return reject(new VaultRefusal('payload_too_large', `request bodies are limited to ${limit} bytes`));
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > limit) {
        reject(new VaultRefusal('payload_too_large', `request bodies are limited to ${limit} bytes`));
        req.pause();
      } else parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  const body = reply.cbor ? Buffer.from(reply.cbor) : Buffer.from(JSON.stringify(reply.json));
  res.writeHead(reply.status, {
    'content-type': reply.cbor ? reply.type ?? 'application/cbor' : 'application/json',
    'content-length': body.length,
    'cache-control': 'no-store',
  });
  res.end(body);
}

function errorReply(e: unknown, log: (line: string) => void): Reply {
  if (e instanceof VaultRefusal) {
    const body: ErrorBody = { error: { code: e.code, message: e.message, ...e.extra } };
    return { status: HTTP_STATUS[e.code], json: body };
  }
  if (e instanceof StateRollback) {
    log(`vault: ${e.message}`);
    return { status: HTTP_STATUS.state_rollback, json: { error: { code: 'state_rollback', message: e.message } } satisfies ErrorBody };
  }
  log(`vault: internal error: ${(e as Error)?.stack ?? String(e)}`);
  return { status: 500, json: { error: { code: 'internal', message: 'the vault failed to handle this request; it had no effect' } } satisfies ErrorBody };
}

export function createFront(f: Front): Server {
  const table = routes(f);
  const tls = f.tls();
  const server = createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' }, (req, res) => {
    void handle(req, res).catch((e) => send(res, errorReply(e, f.log)));
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = { address: f.clientAddress?.(req.socket) ?? req.socket.remoteAddress ?? 'unknown' };
    await f.service.limitAddress(caller); // every request, before any work
    const url = new URL(req.url ?? '/', 'https://vault.invalid');
    const key = `${req.method} ${url.pathname}`;
    const handler = table[key];
    if (!handler) {
      const known = ROUTES.some((r) => r.endsWith(` ${url.pathname}`));
      throw known ? new VaultRefusal('method_not_allowed', `${req.method} is not allowed on ${url.pathname}`) : new VaultRefusal('not_found', `no endpoint ${url.pathname.slice(0, 100)}`);
    }
    if (req.method === 'POST' && !/^application\/json(;|$)/.test(req.headers['content-type'] ?? '')) {
      throw new VaultRefusal('unsupported_media_type', 'request bodies must be application/json');
    }
    const body = req.method === 'POST' ? await readBody(req, bodyLimit(key)) : Buffer.alloc(0);
    send(res, await handler(req, url, body, caller));
  }
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  server.on('clientError', (_e, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{"error":{"code":"bad_request","message":"malformed HTTP request"}}');
    else socket.destroy();
  });
  server.on('tlsClientError', () => {}); // a failed handshake concerns only that connection
  return server;
}
