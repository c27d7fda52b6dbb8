/**
 * src/storage owns where repository objects live: the Backend contract
 * (backend.ts), the local directory and S3 backends, location strings, and
 * the retry / concurrency-limit / request-accounting wrappers.
 *
 * Entry point: openBackend turns a location string into a ready Backend,
 * stacked as  retry → limit → accounting → backend  (outermost first):
 * retries outside the limit so a request sleeping in backoff holds no slot,
 * accounting innermost so every attempt is counted. For S3 the backend
 * itself counts, per HTTP request (a multipart save is several requests);
 * a local directory is counted per operation by the accounting wrapper.
 */
import type { Backend } from './backend.js';
import { AccountingBackend, RequestCounter, type RequestCounts } from './accounting.js';
import { LimitBackend } from './limit.js';
import { LocalBackend } from './local.js';
import { parseLocation } from './location.js';
import { RetryBackend, type RetryOptions } from './retry.js';
import { openS3, type S3Options } from './s3.js';

export interface OpenOptions extends S3Options {
  /** Operations in flight at once (default 8 for S3, 4 for a local directory). */
  readonly connections?: number;
  readonly retry?: RetryOptions;
}

export interface OpenedBackend extends Backend {
  /** Requests and bytes so far, for the backup summary. */
  requests(): RequestCounts;
}

export async function openBackend(location: string, env: NodeJS.ProcessEnv, opts: OpenOptions = {}): Promise<OpenedBackend> {
  const loc = parseLocation(location);
  const counter = new RequestCounter();
  const counted = loc.kind === 'local' ? new AccountingBackend(new LocalBackend(loc.path), counter) : await openS3(loc, env, opts, counter);
  const limited = new LimitBackend(counted, opts.connections ?? (loc.kind === 'local' ? 4 : 8));
  return Object.assign(new RetryBackend(limited, opts.retry), { requests: () => counter.snapshot() });
}
