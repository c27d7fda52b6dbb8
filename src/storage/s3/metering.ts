/**
 * Request metering for the S3 backend: an SDK middleware that counts every
 * HTTP request the SDK sends, by S3 billing class, and the bytes moved, into
 * the RequestCounter of the accounting module. Counted per HTTP request, not
 * per Backend operation: one multipart save is several billed requests, and
 * `create` is a HEAD and maybe a PUT.
 */
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { RequestCounter } from '../accounting.js';

/** Counts every request `client` sends into `counter` from now on. */
export function meter(client: S3Client, counter: RequestCounter): void {
  client.middlewareStack.add(countRequests(counter), { step: 'deserialize', priority: 'low', name: 'ebakCountRequests' });
}

/**
 * Counts each HTTP request as it goes out, signed (failed attempts too: S3
 * bills them), classed as S3 bills them: HEAD and GET separately,
 * ListObjects as LIST, PUT and POST (multipart create, parts, complete,
 * restore) as PUT, DELETE (free on S3) as DELETE. Bytes: request bodies up,
 * Content-Length of successful object reads down.
 */
function countRequests(counter: RequestCounter): Parameters<S3Client['middlewareStack']['add']>[0] {
  return (next) => async (args) => {
    const req = (args as { request: HttpRequestLike }).request;
    const cls = requestClass(req);
    counter.add(cls);
    // A body streamed from a source (a pack) is counted by its announced length.
    counter.add('bytesUp', req.body instanceof Uint8Array ? req.body.byteLength : req.body instanceof Readable ? Number(req.headers?.['content-length'] ?? 0) : 0);
    const out = await next(args);
    const res = (out as { response?: { statusCode?: number; headers?: Record<string, string | undefined> } }).response;
    if (cls === 'get' && res?.statusCode !== undefined && res.statusCode < 300) counter.add('bytesDown', Number(res.headers?.['content-length'] ?? 0));
    return out;
  };
}

interface HttpRequestLike {
  readonly method: string;
  readonly query?: Record<string, unknown>;
  readonly headers?: Record<string, string | undefined>;
  readonly body?: unknown;
}

export function requestClass(req: HttpRequestLike): 'put' | 'get' | 'list' | 'delete' | 'head' {
  switch (req.method) {
    case 'HEAD':
      return 'head';
    case 'GET':
      return 'list-type' in (req.query ?? {}) ? 'list' : 'get';
    case 'DELETE':
      return 'delete';
    default:
      return 'put';
  }
}
