/**
 * Test helper: a recording, fault-injecting HTTPS proxy in front of s3rver.
 * It records every request exactly as the SDK sent it (method, path, headers,
 * body), so tests can check what s3rver itself does not (SigV4 signatures,
 * checksum headers, storage classes), and it injects the faults a healthy
 * local server never produces: 5xx bursts, resets mid-body, slow answers.
 * It can also play S3 where s3rver cannot (archive storage, Object Lock):
 * answer in s3rver's place (`reply`), add headers to its answer, or rewrite
 * its body (a listing's storage classes, which s3rver always gives as STANDARD).
 * And it can give s3rver (which knows one access key) more (`aliases`), so that a
 * fault can play an IAM policy per credential (`accessKeyOf`).
 */
import { request as httpsRequest, createServer, Agent, type Server } from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { S3rver } from './s3server.js';

export interface Recorded {
  readonly n: number;
  readonly method: string;
  /** Path and query exactly as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export type Fault =
  | { readonly status: number; readonly code: string; readonly message?: string }
  | { readonly reply: { readonly status: number; readonly headers?: Record<string, string>; readonly body?: string } }
  | { readonly addHeaders: Record<string, string> }
  | { readonly rewriteBody: (body: Buffer) => Buffer }
  | { readonly resetBeforeResponse: true }
  | { readonly resetMidBody: true }
  | { readonly delayMs: number };

export class S3Proxy {
  readonly requests: Recorded[] = [];
  /** Decides the fault for each request; undefined forwards it unchanged. */
  fault: ((r: Recorded) => Fault | undefined) | undefined;
  /**
   * Decided before a request's body is read: a number closes the connection
   * once that many bytes of the body have come (an upload cut midway; the
   * request is recorded with the bytes that came). Undefined reads it whole.
   */
  cutUpload: ((r: { method: string; url: string }) => number | undefined) | undefined;
  /** Access key ids forwarded as s3rver's own (it checks no SigV4 signature, only that it knows the key id). */
  readonly aliases = new Set<string>();
  inFlight = 0;
  maxInFlight = 0;
  private readonly agent: Agent;

  private constructor(private readonly server: Server, private readonly upstream: S3rver) {
    this.agent = new Agent({ ca: upstream.tls.cert, keepAlive: true });
  }

  static async start(upstream: S3rver): Promise<S3Proxy> {
    let proxy: S3Proxy | undefined;
    const server = createServer({ key: upstream.tls.key, cert: upstream.tls.cert }, (req, res) => {
      proxy?.handle(req, res).catch(() => res.destroy());
    });
    proxy = new S3Proxy(server, upstream);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return proxy;
  }

  get endpoint(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Forgets recorded requests and faults (between tests). */
  reset(): void {
    this.requests.length = 0;
    this.fault = undefined;
    this.cutUpload = undefined;
    this.maxInFlight = 0;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
    this.agent.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    const cut = this.cutUpload?.({ method: req.method ?? '', url: req.url ?? '' });
    let got = 0;
    for await (const c of req) {
      chunks.push(c as Buffer);
      got += (c as Buffer).length;
      if (cut !== undefined && got >= cut) break;
    }
    if (cut !== undefined && got >= cut) {
      this.requests.push({ n: this.requests.length, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.socket?.destroy();
      return;
    }
    const rec: Recorded = { n: this.requests.length, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
    this.requests.push(rec);
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await this.answer(rec, res);
    } finally {
      this.inFlight--;
    }
  }

  private async answer(rec: Recorded, res: ServerResponse): Promise<void> {
    const f = this.fault?.(rec);
    if (f && 'status' in f) {
      const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${f.code}</Code><Message>${f.message ?? 'injected fault'}</Message></Error>`;
      res.writeHead(f.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) }).end(xml);
      return;
    }
    if (f && 'reply' in f) {
      const body = f.reply.body ?? '';
      res.writeHead(f.reply.status, { 'content-length': Buffer.byteLength(body), ...f.reply.headers }).end(body);
      return;
    }
    if (f && 'resetBeforeResponse' in f) {
      res.socket?.destroy();
      return;
    }
    if (f && 'delayMs' in f) await sleep(f.delayMs);
    const up = await this.forward(rec);
    let body = await readAll(up);
    let headers = f && 'addHeaders' in f ? { ...up.headers, ...f.addHeaders } : up.headers;
    if (f && 'rewriteBody' in f) {
      body = f.rewriteBody(body);
      headers = { ...headers, 'content-length': String(body.length) };
    }
    res.writeHead(up.statusCode ?? 502, headers);
    if (f && 'resetMidBody' in f && body.length > 1) {
      res.write(body.subarray(0, body.length >> 1));
      await sleep(20);
      res.socket?.destroy();
      return;
    }
    res.end(body);
  }

  private forward(rec: Recorded): Promise<IncomingMessage> {
    const key = accessKeyOf(rec);
    const headers = key && this.aliases.has(key) ? { ...rec.headers, authorization: rec.headers.authorization!.replace(`Credential=${key}/`, 'Credential=S3RVER/') } : rec.headers;
    return new Promise((resolve, reject) => {
      // Headers unchanged (Host included) so s3rver sees the request as signed.
      const r = httpsRequest({ host: '127.0.0.1', port: this.upstream.port, method: rec.method, path: rec.url, headers, agent: this.agent }, resolve);
      r.on('error', reject);
      r.end(rec.body);
    });
  }
}

/** The access key id a SigV4 request was signed with. */
export function accessKeyOf(rec: Recorded): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(rec.headers.authorization ?? '')?.[1];
}

async function readAll(s: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
