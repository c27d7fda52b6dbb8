/**
 * src/storage owns where repository objects live: the Backend contract
 * (backend.ts), the local directory and S3 (s3/) backends, location strings,
 * and the retry / concurrency-limit / request-accounting wrappers on their
 * forwarding base (forward.ts).
 *
 * Entry point: openBackend turns a location string into a ready Backend,
 * stacked as  signal → cache → retry → rate → limit → accounting → backend
 * (outermost first): the run's cancellation (signal.ts) outermost so every
 * call below carries it; the local metadata cache (cache.ts) next so a hit costs no
 * request, slot or retry; retries outside the limit so a request sleeping
 * in backoff holds no slot; the bandwidth limit (rate.ts) inside the
 * retries, so a retried transfer is paid for again; accounting innermost so every attempt is counted. For S3 the backend
 * itself counts, per HTTP request (a multipart save is several requests);
 * a local directory is counted per operation by the accounting wrapper.
 *
 * Storage reads no environment: every setting arrives typed, in OpenOptions
 * and, for the S3 client, the AWS tools' settings (AwsSettings).
 */
import { join } from 'node:path';
import type { Backend } from './backend.js';
import { AccountingBackend, RequestCounter, type RequestCounts } from './accounting.js';
import { CacheBackend } from './cache.js';
import { LimitBackend } from './limit.js';
import { LocalBackend } from './local.js';
import { parseLocation } from './location.js';
import { Pace, RateBackend } from './rate.js';
import { RetryBackend, type RetryOptions } from './retry.js';
import { SignalBackend } from './signal.js';
import { openS3, type AwsSettings, type ObjectLockOptions, type S3Backend, type S3Options } from './s3/index.js';

export interface OpenOptions extends S3Options {
  /** Operations in flight at once (default 8 for S3, 4 for a local directory). */
  readonly connections?: number;
  readonly retry?: RetryOptions;
  /** The local metadata cache's folder (cache.ts); none: no cache. It is used once `useCache` names the repository. */
  readonly cacheDir?: string;
  /** Bandwidth limits in bytes per second (rate.ts); none: unlimited. */
  readonly limitUpload?: number;
  readonly limitDownload?: number;
}

export interface OpenedBackend extends Backend {
  /** Requests and bytes so far, for the backup summary. */
  requests(): RequestCounts;
  /**
   * Object Lock retention for the data packs and snapshots saved from now
   * on, for a caller that learns it once the repository config is read (the
   * `objectLock` option, late). Validated at once (USAGE). Backends without
   * the objectLock capability (a local directory) ignore it.
   */
  setObjectLock(o: ObjectLockOptions): void;
  /**
   * Keeps the repository's snapshots, index and tree packs (and, for S3,
   * the Object Lock retention table, s3/retention.ts) in
   * `cacheDir`/<repoId> from now on, for a caller that learns the id once the
   * config is read. Without a `cacheDir` it does nothing.
   */
  useCache(repoId: string): Promise<void>;
  /**
   * The run's signal, for a caller that has one (a command's Ctrl-C, a
   * daemon's stop): from now on every call also stops when it aborts, but
   * those on locks and index files (signal.ts).
   */
  cancelWith(signal: AbortSignal): void;
}

export async function openBackend(location: string, aws: AwsSettings, opts: OpenOptions = {}): Promise<OpenedBackend> {
  const loc = parseLocation(location);
  const counter = new RequestCounter();
  const counted = loc.kind === 'local' ? new AccountingBackend(new LocalBackend(loc.path), counter) : await openS3(loc, aws, opts, counter);
  const limited = new LimitBackend(counted, opts.connections ?? (loc.kind === 'local' ? 4 : 8));
  const paced = opts.limitUpload || opts.limitDownload ? new RateBackend(limited, pace(opts.limitUpload), pace(opts.limitDownload)) : limited;
  const cache = new CacheBackend(new RetryBackend(paced, opts.retry));
  const run = new SignalBackend(cache);
  return Object.assign(run, {
    requests: () => counter.snapshot(),
    useCache: async (repoId: string) => {
      if (opts.cacheDir === undefined) return;
      await cache.attach(opts.cacheDir, repoId);
      if (loc.kind === 's3') await (counted as S3Backend).keepRetentionTable(join(opts.cacheDir, repoId, 'object-lock.json'));
    },
    setObjectLock: (o: ObjectLockOptions) => {
      if (loc.kind === 's3') (counted as S3Backend).setObjectLock(o);
    },
  });
}

const pace = (bytesPerSecond: number | undefined) => (bytesPerSecond ? new Pace(bytesPerSecond) : undefined);
