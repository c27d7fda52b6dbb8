/**
 * The simulated key service's HTTPS front: the AWS KMS JSON 1.1 protocol
 * (`POST /`, `x-amz-target: TrentService.<Op>`, `application/x-amz-json-1.1`,
 * blobs as base64, errors as HTTP 400 `{"__type", "message"}`) over TLS 1.3,
 * every request authenticated with SigV4 against the one set of credentials
 * the service is configured with. Stands in for kms.<region>.amazonaws.com.
 */
import { randomUUID, type X509Certificate } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { loadRoot } from '../../attestation/index.js';
import { EbakError } from '../../errors.js';
import { KmsFault } from './fault.js';
import { OPERATIONS, type ServiceConfig } from './operations.js';
import { parsePolicy } from './policy.js';
import { sigV4AccessKeyId, verifySigV4, type SignedRequest } from './sigv4.js';
import { serviceTls } from './tls.js';

export interface KeyServiceCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface KeyServiceOptions {
  /** The service's own directory: keys, TLS identity. Never a vault's directory. */
  dir: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The attestation root Recipient documents must chain to (the dev CA root in simulation). */
  root: X509Certificate | string;
  /** The policy of keys created through CreateKey without one. */
  policy?: unknown;
  credentials: KeyServiceCredentials;
  /** The region in key ARNs (default us-east-1). */
  region?: string;
}

export interface KeyService {
  url: string;
  /** The service's self-signed certificate (PEM): what clients pass as `ca`. */
  ca: Buffer;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;
const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000; // SigV4's limit
const TARGET = /^TrentService\.([A-Za-z]+)$/;

export async function startKeyService(o: KeyServiceOptions): Promise<KeyService> {
  const host = o.host ?? '127.0.0.1';
  if (o.policy !== undefined) parsePolicy(o.policy);
  await mkdir(o.dir, { recursive: true, mode: 0o700 });
  const config: ServiceConfig = {
    dir: o.dir, root: typeof o.root === 'string' ? loadRoot(o.root) : o.root, region: o.region ?? 'us-east-1',
    ...(o.policy === undefined ? {} : { defaultPolicy: o.policy }),
  };
  const tls = await serviceTls(o.dir, host);
  const server = createServer({ key: tls.key, cert: tls.cert, minVersion: 'TLSv1.3' }, (req, res) => {
    void handle(req, res, config, o.credentials);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new EbakError('IO', `the key service cannot listen on ${host}:${o.port ?? 0}`, { cause: e })));
    server.listen(o.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: Buffer.from(tls.cert),
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

async function handle(req: IncomingMessage, res: ServerResponse, config: ServiceConfig, credentials: KeyServiceCredentials): Promise<void> {
  try {
    const body = await readBody(req);
    const signed: SignedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
    const op = route(signed);
    authenticate(signed, credentials);
    send(res, 200, await op(parseInput(body), config));
  } catch (e) {
    const fault = e instanceof KmsFault ? e : undefined;
    if (fault) send(res, 400, { __type: fault.type, message: fault.message });
    else send(res, 500, { __type: 'KMSInternalException', message: 'internal error' });
  }
}

function route(r: SignedRequest) {
  if (r.method !== 'POST' || r.url !== '/') throw new KmsFault('UnknownOperationException', 'the KMS protocol is POST /');
  if (r.headers['content-type'] !== 'application/x-amz-json-1.1') throw new KmsFault('ValidationException', 'content-type must be application/x-amz-json-1.1');
  const name = TARGET.exec(String(r.headers['x-amz-target'] ?? ''))?.[1];
  const op = name === undefined || !Object.hasOwn(OPERATIONS, name) ? undefined : OPERATIONS[name];
  if (op === undefined) throw new KmsFault('UnknownOperationException', `operation ${String(r.headers['x-amz-target'])} is not simulated`);
  return op;
}

function authenticate(r: SignedRequest, credentials: KeyServiceCredentials): void {
  if (sigV4AccessKeyId(r) !== credentials.accessKeyId) throw new KmsFault('UnrecognizedClientException', 'the security token included in the request is invalid');
  if (!verifySigV4(r, credentials.secretAccessKey)) throw new KmsFault('InvalidSignatureException', 'the request signature does not match');
  const at = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(String(r.headers['x-amz-date'] ?? ''));
  const t = at ? Date.UTC(+at[1]!, +at[2]! - 1, +at[3]!, +at[4]!, +at[5]!, +at[6]!) : NaN;
  if (!(Math.abs(Date.now() - t) <= MAX_CLOCK_SKEW_MS)) throw new KmsFault('InvalidSignatureException', 'the signature is expired or dated in the future');
}

function parseInput(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.length === 0 ? '{}' : body.toString('utf8'));
  } catch {
    throw new KmsFault('ValidationException', 'the request body is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new KmsFault('ValidationException', 'the request body is not a JSON object');
  return value as Record<string, unknown>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new KmsFault('ValidationException', `the request body exceeds ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Buffers go out as base64 strings, as the JSON protocol carries blobs. */
function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const raw = this[key];
    return Buffer.isBuffer(raw) ? raw.toString('base64') : v;
  });
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID(), 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
