/**
 * Checks an AWS Signature Version 4 on a received request, written from the
 * specification (AWS "Create a signed AWS API request"), independently of the
 * SDK. The simulated key service authenticates its callers with it, and the
 * S3 tests check the SDK's signatures with it (s3rver accepts any secret).
 * Paths are not double-encoded (S3's flavour); KMS requests go to "/", where
 * both flavours agree.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A request as it arrived: method, path and query exactly as received, headers, body. */
export interface SignedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

/** The access key id the request claims to be signed with, if it carries a SigV4 authorization. */
export function sigV4AccessKeyId(r: SignedRequest): string | undefined {
  return AUTH.exec(String(r.headers.authorization ?? ''))?.[1];
}

export function verifySigV4(r: SignedRequest, secret: string): boolean {
  const m = AUTH.exec(String(r.headers.authorization ?? ''));
  if (!m) return false;
  const [, , date, region, service, signedHeaders, signature] = m as unknown as string[];
  const amzDate = String(r.headers['x-amz-date'] ?? '');
  // Services other than S3 sign the body's hash without sending it as a header.
  const payloadHash = String(r.headers['x-amz-content-sha256'] ?? sha256hex(r.body));
  // The payload hash must be of the bytes that arrived, or the signature covers nothing.
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256hex(r.body)) return false;
  if (!amzDate.startsWith(date as string)) return false;
  const [path = '/', query = ''] = r.url.split('?', 2);
  const names = (signedHeaders as string).split(';');
  if (!names.includes('host')) return false;
  const canonical = [
    r.method,
    path,
    canonicalQuery(query),
    names.map((n) => `${n}:${headerValue(r, n)}\n`).join(''),
    signedHeaders,
    payloadHash,
  ].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256hex(Buffer.from(canonical))].join('\n');
  let key: Buffer = hmac(`AWS4${secret}`, date as string);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part as string);
  const want = hmac(key, toSign);
  return timingSafeEqual(want, Buffer.from(signature as string, 'hex'));
}

function canonicalQuery(q: string): string {
  if (q === '') return '';
  return q
    .split('&')
    .map((kv) => {
      const [k = '', v = ''] = kv.split('=', 2);
      return [rfc3986(decodeURIComponent(k)), rfc3986(decodeURIComponent(v.replace(/\+/g, '%20')))];
    })
    .sort((a, b) => (a[0] === b[0] ? cmp(a[1] as string, b[1] as string) : cmp(a[0] as string, b[0] as string)))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(r: SignedRequest, name: string): string {
  const v = r.headers[name];
  return (Array.isArray(v) ? v.join(',') : String(v ?? '')).trim().replace(/\s+/g, ' ');
}

function rfc3986(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}
