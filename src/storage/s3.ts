/**
 * S3 backend (@aws-sdk/client-s3, any S3 endpoint, path-style for custom ones).
 *
 * Keys follow the local layout under an optional prefix: `<prefix>/config`,
 * `<prefix>/keys/<id>`, `<prefix>/data/<2 hex>/<id>`, ...
 *
 * This class does no retrying (the SDK's retries are off: maxAttempts 1);
 * it classifies failures and marks the transient ones `retryable` for the
 * retry wrapper (retry.ts). Every upload carries x-amz-checksum-sha256,
 * computed here over a Buffer body, so S3 refuses bytes corrupted in transit.
 * The SDK's own checksum machinery is set to WHEN_REQUIRED: with its defaults
 * it sends aws-chunked streams, which some S3-compatible servers store verbatim.
 *
 * Requests are counted here, per HTTP request the SDK sends (countRequests),
 * not per Backend operation: one multipart save is several billed requests,
 * and `create` is a HEAD and maybe a PUT.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  RestoreObjectCommand,
  S3Client,
  UploadPartCommand,
  type BucketLocationConstraint,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { EbakError, isEbakError } from '../errors.js';
import type { RequestCounter } from './accounting.js';
import type { Backend, ByteRange, FileInfo, FileType, Handle, SaveOptions } from './backend.js';
import { Semaphore } from '../util/semaphore.js';
import { checkName, describe } from './local.js';
import { formatLocation, type Location } from './location.js';
import { retryable } from './retry.js';
import { checkObjectLock, isLockedType, lockParams, refuseLockedDelete, type LockState, type ObjectLockMode, type ObjectLockOptions } from './objectlock.js';
import { restoreSettings, thaw, type ArchiveRestoreOptions, type RestoreTier } from './thaw.js';

export type DataStorageClass = 'STANDARD_IA' | 'GLACIER_IR' | 'GLACIER' | 'DEEP_ARCHIVE';
export const DATA_STORAGE_CLASSES: readonly DataStorageClass[] = ['STANDARD_IA', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'];

const MiB = 1024 * 1024;
/** S3's smallest allowed part (all but the last). */
const MIN_PART = 5 * MiB;

export interface S3Options {
  /** Storage class of data packs (`packKind: 'data'`); everything else is STANDARD. */
  readonly dataStorageClass?: DataStorageClass;
  /**
   * Objects larger than this go up in parts (default 32 MiB). Above the
   * largest pack (16 MiB target + one 8 MiB blob + header): at 16 MiB most
   * packs went up as create + 2 parts + complete, 4 billed requests, not 1.
   */
  readonly multipartThresholdBytes?: number;
  /** Part size of multipart uploads (default 8 MiB, at least 5 MiB). */
  readonly partBytes?: number;
  /** Parts of one object uploaded at once (default 4). */
  readonly partConcurrency?: number;
  /** Abandon a connection attempt after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Abandon a request whose socket stays idle this long (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** How prepareRead restores archived (GLACIER, DEEP_ARCHIVE) objects (thaw.ts). */
  readonly archiveRestore?: ArchiveRestoreOptions;
  /** Object Lock retention for data packs and snapshots (objectlock.ts); the bucket must have Object Lock enabled. */
  readonly objectLock?: ObjectLockOptions;
}

type S3Location = Extract<Location, { kind: 's3' }>;

/** What PutObject and CreateMultipartUpload of one object share. */
type UploadParams = { Bucket: string; Key: string; StorageClass: 'STANDARD' | DataStorageClass } & Partial<ReturnType<typeof lockParams>>;

export class S3Backend implements Backend {
  readonly location: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly threshold: number;
  private readonly partBytes: number;
  private readonly partConcurrency: number;
  private readonly thawing: ReturnType<typeof restoreSettings>;
  private readonly lock: Required<ObjectLockOptions> | undefined;

  constructor(private readonly client: S3Client, loc: S3Location, private readonly region: string | undefined, private readonly opts: S3Options = {}) {
    this.location = formatLocation(loc);
    this.bucket = loc.bucket;
    this.prefix = loc.prefix;
    this.threshold = opts.multipartThresholdBytes ?? 32 * MiB;
    this.partBytes = opts.partBytes ?? 8 * MiB;
    this.partConcurrency = opts.partConcurrency ?? 4;
    this.thawing = restoreSettings(opts.archiveRestore);
    this.lock = opts.objectLock && checkObjectLock(opts.objectLock);
    if (this.partBytes < MIN_PART) throw new EbakError('USAGE', `S3 part size must be at least 5 MiB, got ${this.partBytes} bytes`);
    if (opts.dataStorageClass !== undefined && !DATA_STORAGE_CLASSES.includes(opts.dataStorageClass))
      throw new EbakError('USAGE', `unknown S3 data storage class ${JSON.stringify(opts.dataStorageClass)}`, { hint: `use one of ${DATA_STORAGE_CLASSES.join(', ')}` });
  }

  async create(): Promise<void> {
    try {
      await this.send('check bucket', (c) => c.send(new HeadBucketCommand({ Bucket: this.bucket })));
      if (this.lock) await this.checkBucketLock();
      return;
    } catch (e) {
      if (!isEbakError(e, 'NOT_FOUND') && !isEbakError(e, 'NO_REPOSITORY')) throw e;
    }
    // us-east-1 is the default and must not be named (S3 answers InvalidLocationConstraint).
    const constraint = this.region && this.region !== 'us-east-1' ? { LocationConstraint: this.region as BucketLocationConstraint } : undefined;
    try {
      // Object Lock can be turned on when the bucket is created (S3 then enables versioning too).
      const lock = this.lock ? { ObjectLockEnabledForBucket: true } : {};
      await this.send('create bucket', (c) => c.send(new CreateBucketCommand({ Bucket: this.bucket, CreateBucketConfiguration: constraint, ...lock })));
    } catch (e) {
      // Another process created it between our check and our create.
      if (!(isEbakError(e) && errorName(e.cause) === 'BucketAlreadyOwnedByYou')) throw e;
    }
  }

  async isRepository(): Promise<boolean> {
    try {
      await this.stat({ type: 'config', name: 'config' });
      return true;
    } catch (e) {
      if (isEbakError(e, 'NOT_FOUND') || isEbakError(e, 'NO_REPOSITORY')) return false;
      throw e;
    }
  }

  async save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void> {
    const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const what = `write ${describe(h)}`;
    const locked = this.lock && isLockedType(h) ? lockParams(this.lock) : {};
    const common: UploadParams = { Bucket: this.bucket, Key: this.key(h), StorageClass: this.storageClass(h, opts), ...locked };
    try {
      await this.upload(what, common, body);
    } catch (e) {
      // S3 answers 400 InvalidRequest to lock headers on a bucket without Object Lock.
      if (this.lock && isEbakError(e) && errorName(e.cause) === 'InvalidRequest' && /object lock/i.test(String((e.cause as Error).message)))
        throw new EbakError('STORAGE', `${what} on ${this.location}: bucket ${this.bucket} has no Object Lock enabled`, { cause: e, hint: LOCK_HINT });
      throw e;
    }
  }

  private async upload(what: string, common: UploadParams, body: Buffer): Promise<void> {
    if (body.length <= this.threshold) {
      await this.send(what, (c) => c.send(new PutObjectCommand({ ...common, Body: body, ContentLength: body.length, ChecksumSHA256: sha256(body) })));
      return;
    }
    const { UploadId } = await this.send(what, (c) => c.send(new CreateMultipartUploadCommand({ ...common, ChecksumAlgorithm: 'SHA256' })));
    if (!UploadId) throw retryable(new EbakError('STORAGE', `${what} on ${this.location}: no upload id in the answer to CreateMultipartUpload`));
    const ref = { Bucket: this.bucket, Key: common.Key, UploadId };
    try {
      const parts = await this.uploadParts(what, ref, body);
      await this.send(what, (c) => c.send(new CompleteMultipartUploadCommand({ ...ref, MultipartUpload: { Parts: parts } })));
    } catch (e) {
      // Best effort: an upload left behind costs storage until a lifecycle rule removes it.
      await this.send(what, (c) => c.send(new AbortMultipartUploadCommand(ref))).catch(() => undefined);
      throw e;
    }
  }

  async load(h: Handle, range?: ByteRange): Promise<Buffer> {
    if (range) checkRange(range);
    if (range?.length === 0) {
      await this.stat(h);
      return Buffer.alloc(0);
    }
    const what = `read ${describe(h)}`;
    const Range = range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(h), Range }));
      if (!r.Body) throw retryable(new EbakError('STORAGE', `${what} on ${this.location}: response had no body`));
      let body = Buffer.from(await r.Body.transformToByteArray());
      if (r.ContentLength !== undefined && body.length !== r.ContentLength)
        throw retryable(new EbakError('STORAGE', `${what} on ${this.location}: got ${body.length} of ${r.ContentLength} bytes`));
      if (!range) return body;
      // HTTP lets a server send more than asked (the whole object without
      // Content-Range; s3rver answers bytes=0-0 with all bytes): cut our range out.
      const start = r.ContentRange === undefined ? 0 : Number(/^bytes (\d+)-/.exec(r.ContentRange)?.[1] ?? NaN);
      if (!(start <= range.offset)) throw new EbakError('STORAGE', `${what} on ${this.location}: server answered range ${r.ContentRange}, not ${Range}`);
      body = body.subarray(range.offset - start, range.offset - start + range.length);
      // S3 answers a range that starts inside the object but ends past it with the shorter tail.
      if (body.length !== range.length) throw beyondEnd(h, range);
      return body;
    } catch (e) {
      throw this.mapped(e, what); // a 416 maps to CORRUPT
    }
  }

  async stat(h: Handle): Promise<FileInfo> {
    const r = await this.send(`stat ${describe(h)}`, (c) => c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(h) })));
    return { name: h.name, size: r.ContentLength ?? 0 };
  }

  async *list(type: FileType): AsyncIterable<FileInfo> {
    if (type === 'config') {
      if (await this.isRepository()) yield await this.stat({ type, name: 'config' });
      return;
    }
    const dir = this.join(`${type}/`);
    let token: string | undefined;
    do {
      const r = await this.send(`list ${type}`, (c) => c.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: dir, ContinuationToken: token })));
      for (const o of r.Contents ?? []) {
        const name = entryName(type, (o.Key ?? '').slice(dir.length));
        if (name !== undefined) yield { name, size: o.Size ?? 0 };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * A data pack or snapshot still under Object Lock retention is refused
   * before the DELETE (on a versioned S3 bucket a DELETE would "succeed" by
   * hiding the object behind a delete marker while its bytes stay locked).
   */
  async remove(h: Handle): Promise<void> {
    if (isLockedType(h)) {
      let state: LockState;
      try {
        state = await this.lockState(h);
      } catch (e) {
        if (isEbakError(e, 'NOT_FOUND')) return;
        throw e;
      }
      refuseLockedDelete(`delete ${describe(h)} on ${this.location}`, state);
    }
    await this.send(`delete ${describe(h)}`, (c) => c.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(h) })));
  }

  /**
   * Archived objects among `handles` are restored (RestoreObject) and waited
   * for (thaw.ts); costs one HEAD per handle when none is archived.
   */
  async prepareRead(handles: readonly Handle[], onProgress?: (ready: number, total: number) => void): Promise<void> {
    await thaw({ head: (h) => this.archiveState(h), requestRestore: (h, days, tier) => this.requestRestore(h, days, tier) }, handles, this.thawing, onProgress);
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async archiveState(h: Handle): Promise<{ storageClass?: string; restore?: string }> {
    const r = await this.send(`stat ${describe(h)}`, (c) => c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(h) })));
    return { storageClass: r.StorageClass, restore: r.Restore };
  }

  private async lockState(h: Handle): Promise<LockState> {
    const r = await this.send(`stat ${describe(h)}`, (c) => c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(h) })));
    return { mode: r.ObjectLockMode, retainUntil: r.ObjectLockRetainUntilDate, legalHold: r.ObjectLockLegalHoldStatus };
  }

  /**
   * An existing bucket must have Object Lock enabled and no default retention
   * rule (S3 would lock every object with it, lock files included).
   */
  private async checkBucketLock(): Promise<void> {
    const what = `check Object Lock of bucket ${this.bucket} on ${this.location}`;
    let enabled: string | undefined;
    let rule: unknown;
    try {
      const r = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      enabled = r.ObjectLockConfiguration?.ObjectLockEnabled;
      rule = r.ObjectLockConfiguration?.Rule?.DefaultRetention;
    } catch (e) {
      const name = errorName(e);
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (name !== 'ObjectLockConfigurationNotFoundError' && status !== 501 && status !== 405) throw this.mapped(e, what);
      if (status === 501 || status === 405) throw new EbakError('USAGE', `${what}: the storage service does not support S3 Object Lock`, { cause: e, hint: LOCK_HINT });
    }
    if (enabled !== 'Enabled') throw new EbakError('USAGE', `${what}: bucket ${this.bucket} has no Object Lock enabled`, { hint: LOCK_HINT });
    if (rule) throw new EbakError('USAGE', `${what}: bucket ${this.bucket} has a default retention rule, which would also lock ebak's lock files`, { hint: 'remove the rule (ebak sets retention on data packs and snapshots itself)' });
  }

  private async requestRestore(h: Handle, Days: number, Tier: RestoreTier): Promise<void> {
    const what = `restore ${describe(h)} from archive`;
    try {
      await this.client.send(new RestoreObjectCommand({ Bucket: this.bucket, Key: this.key(h), RestoreRequest: { Days, GlacierJobParameters: { Tier } } }));
    } catch (e) {
      if (errorName(e) === 'RestoreAlreadyInProgress') return; // another run asked first: wait for it
      throw this.mapped(e, what);
    }
  }

  private key(h: Handle): string {
    if (h.type === 'config') return this.join('config');
    checkName(h.name);
    return this.join(h.type === 'data' ? `data/${h.name.slice(0, 2)}/${h.name}` : `${h.type}/${h.name}`);
  }

  private join(rel: string): string {
    return this.prefix === '' ? rel : `${this.prefix}/${rel}`;
  }

  private storageClass(h: Handle, opts?: SaveOptions): 'STANDARD' | DataStorageClass {
    return h.type === 'data' && opts?.packKind === 'data' ? (this.opts.dataStorageClass ?? 'STANDARD') : 'STANDARD';
  }

  /** Uploads every part (at most partConcurrency at once) and waits for all before reporting a failure. */
  private async uploadParts(what: string, ref: { Bucket: string; Key: string; UploadId: string }, body: Buffer): Promise<CompletedPart[]> {
    const sem = new Semaphore(this.partConcurrency);
    const offsets: number[] = [];
    for (let o = 0; o < body.length; o += this.partBytes) offsets.push(o);
    const results = await Promise.allSettled(
      offsets.map((o, i) =>
        sem.run(async (): Promise<CompletedPart> => {
          const part = body.subarray(o, o + this.partBytes);
          const sum = sha256(part);
          const r = await this.send(what, (c) => c.send(new UploadPartCommand({ ...ref, PartNumber: i + 1, Body: part, ContentLength: part.length, ChecksumSHA256: sum })));
          return { PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: sum };
        }),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<CompletedPart>).value);
  }

  /** Runs one SDK call and turns any failure into a classified EbakError. */
  private async send<T>(what: string, call: (c: S3Client) => Promise<T>): Promise<T> {
    try {
      return await call(this.client);
    } catch (e) {
      throw this.mapped(e, what);
    }
  }

  private mapped(e: unknown, what: string): EbakError {
    return mapS3Error(e, what, this.location, this.bucket);
  }
}

/** Names under `<type>/` that are ebak objects; anything else in the bucket is ignored. */
function entryName(type: FileType, rel: string): string | undefined {
  const parts = rel.split('/');
  const name = parts[parts.length - 1] ?? '';
  const shapeOk = type === 'data' ? parts.length === 2 && name.startsWith(parts[0] ?? '-') : parts.length === 1;
  if (!shapeOk) return undefined;
  try {
    checkName(name);
    return name;
  } catch {
    return undefined;
  }
}

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('base64');
}

function checkRange(r: ByteRange): void {
  if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0)
    throw new EbakError('USAGE', `invalid byte range ${r.offset}+${r.length}`);
}

function beyondEnd(h: Handle, r: ByteRange): EbakError {
  return new EbakError('CORRUPT', `${describe(h)}: range ${r.offset}+${r.length} lies beyond the end of the object`);
}

const LOCK_HINT = 'create the bucket with Object Lock (aws s3api create-bucket --object-lock-enabled-for-bucket) or enable it on a versioned bucket, without a default retention rule';

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'CredentialsProviderError', 'InvalidClientTokenId']);
const THROTTLE_ERRORS = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'Throttling', 'ThrottlingException', 'RequestTimeTooSkewed', 'TimeoutError']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;
const CREDENTIAL_HINT = 'check the S3 credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and the bucket policy';

/** One classification of every SDK, HTTP and socket failure into an EbakError. */
export function mapS3Error(e: unknown, what: string, location: string, bucket: string): EbakError {
  if (e instanceof EbakError) return e;
  const name = errorName(e);
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const code = String((e as { code?: unknown }).code ?? '');
  const detail = oneLine(e, name);
  const at = `${what} on ${location}`;
  if (name === 'NoSuchBucket')
    return new EbakError('NO_REPOSITORY', `${at}: bucket ${bucket} does not exist`, { cause: e, hint: 'check the repository location, or create it with `ebak init`' });
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new EbakError('NOT_FOUND', `${at}: object does not exist`, { cause: e });
  // S3 refuses GetObject on a GLACIER / DEEP_ARCHIVE object not restored (403).
  if (name === 'InvalidObjectState')
    return new EbakError('STORAGE', `${at}: the object is in archive storage (GLACIER or DEEP_ARCHIVE) and must be restored before it can be read`, {
      cause: e,
      hint: 'restore the data packs with S3 RestoreObject (aws s3api restore-object), wait until they are readable, then run the command again',
    });
  // 501: the service lacks the operation (S3-compatible servers without archive tiers); waiting will not help.
  if (name === 'NotImplemented' || status === 501)
    return new EbakError('STORAGE', `${at}: the storage service does not implement this request`, { cause: e, hint: 'this S3-compatible service lacks the feature; use one that has it, or AWS S3' });
  if (name === 'InvalidRange' || status === 416) return new EbakError('CORRUPT', `${at}: range lies beyond the end of the object`, { cause: e });
  if (CREDENTIAL_ERRORS.has(name) || status === 403 || status === 401)
    return new EbakError('STORAGE', `${at}: access denied (${name})`, { cause: e, hint: CREDENTIAL_HINT });
  if (TLS_CODES.test(code))
    return new EbakError('STORAGE', `${at}: TLS failure (${code})`, { cause: e, hint: "trust the endpoint's CA with NODE_EXTRA_CA_CERTS or AWS_CA_BUNDLE, or check the endpoint address" });
  if (/region is missing/i.test(detail))
    return new EbakError('USAGE', `${at}: no AWS region configured`, { cause: e, hint: 'set AWS_REGION or a region in the AWS profile' });
  if (THROTTLE_ERRORS.has(name) || (status !== undefined && status >= 500) || NETWORK_CODES.has(code))
    return retryable(new EbakError('STORAGE', `${at}: ${detail}`, { cause: e, hint: 'check the network and the storage service, then run the command again; nothing was lost' }));
  return new EbakError('STORAGE', `${at}: ${detail}`, { cause: e });
}

function errorName(e: unknown): string {
  return String((e as { name?: unknown } | undefined)?.name ?? 'Error');
}

/** SDK messages can be empty ("UnknownError") or span lines; errors are one line. */
function oneLine(e: unknown, name: string): string {
  const msg = String((e as { message?: unknown }).message ?? '').split('\n')[0]?.trim() ?? '';
  const code = (e as { code?: unknown }).code;
  const text = msg === '' || msg === 'UnknownError' ? name : msg;
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
}

export interface ClientEnv {
  readonly AWS_ACCESS_KEY_ID?: string;
  readonly AWS_SECRET_ACCESS_KEY?: string;
  readonly AWS_SESSION_TOKEN?: string;
  readonly AWS_PROFILE?: string;
  readonly AWS_REGION?: string;
  readonly AWS_DEFAULT_REGION?: string;
  readonly AWS_CA_BUNDLE?: string;
  readonly NODE_EXTRA_CA_CERTS?: string;
  /** Seconds between polls while archived packs are restored (thaw.ts). */
  readonly EBAK_S3_RESTORE_POLL_SECONDS?: string;
  /** Seconds one run waits for archived packs before giving up (thaw.ts). */
  readonly EBAK_S3_RESTORE_TIMEOUT?: string;
  /** Object Lock retention in days for data packs and snapshots (objectlock.ts). */
  readonly EBAK_S3_OBJECT_LOCK_DAYS?: string;
  /** COMPLIANCE (default) or GOVERNANCE. */
  readonly EBAK_S3_OBJECT_LOCK_MODE?: string;
}

/**
 * Builds the SDK client from the environment: credentials from the variables
 * when both are set, otherwise the SDK's standard chain (AWS_PROFILE, SSO,
 * instance roles); region from AWS_REGION/AWS_DEFAULT_REGION, us-east-1 for
 * custom endpoints, else the profile's.
 */
export async function openS3(loc: S3Location, env: ClientEnv, opts: S3Options = {}, counter?: RequestCounter): Promise<S3Backend> {
  // The SDK warns on every start under Node 20 about its releases after 2026;
  // that is a note for whoever upgrades Node, not for someone running a backup.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (loc.endpoint !== undefined ? 'us-east-1' : undefined);
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined }
      : undefined;
  const ca = await extraCas(env);
  opts = { ...opts, archiveRestore: { ...restoreEnv(env), ...opts.archiveRestore }, ...lockEnv(env, opts.objectLock) };
  const client = new S3Client({
    region,
    endpoint: loc.endpoint,
    forcePathStyle: loc.endpoint !== undefined,
    followRegionRedirects: loc.endpoint === undefined,
    credentials,
    profile: env.AWS_PROFILE || undefined,
    maxAttempts: 1, // retry.ts retries; the SDK's retries would multiply with ours
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64, ...(ca ? { ca } : {}) }),
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      connectionTimeout: opts.connectTimeoutMs ?? 10_000,
      socketTimeout: opts.idleTimeoutMs ?? 60_000,
    },
  });
  if (counter) client.middlewareStack.add(countRequests(counter), { step: 'deserialize', priority: 'low', name: 'ebakCountRequests' });
  return new S3Backend(client, loc, region, opts);
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
    if (req.body instanceof Uint8Array) counter.add('bytesUp', req.body.byteLength);
    const out = await next(args);
    const res = (out as { response?: { statusCode?: number; headers?: Record<string, string | undefined> } }).response;
    if (cls === 'get' && res?.statusCode !== undefined && res.statusCode < 300) counter.add('bytesDown', Number(res.headers?.['content-length'] ?? 0));
    return out;
  };
}

interface HttpRequestLike {
  readonly method: string;
  readonly query?: Record<string, unknown>;
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

/** Object Lock from the environment, unless the caller gave it. */
function lockEnv(env: ClientEnv, given: ObjectLockOptions | undefined): { objectLock?: ObjectLockOptions } {
  if (given) return { objectLock: given };
  const days = env.EBAK_S3_OBJECT_LOCK_DAYS;
  if (days === undefined || days === '') return {};
  return { objectLock: { days: Number(days), ...(env.EBAK_S3_OBJECT_LOCK_MODE ? { mode: env.EBAK_S3_OBJECT_LOCK_MODE as ObjectLockMode } : {}) } };
}

/** The restore waits from the environment (flags give days and tier). */
function restoreEnv(env: ClientEnv): ArchiveRestoreOptions {
  const seconds = (name: 'EBAK_S3_RESTORE_POLL_SECONDS' | 'EBAK_S3_RESTORE_TIMEOUT'): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new EbakError('USAGE', `${name} must be a non-negative number of seconds, got ${JSON.stringify(v)}`);
    return n * 1000;
  };
  const pollMs = seconds('EBAK_S3_RESTORE_POLL_SECONDS');
  const timeoutMs = seconds('EBAK_S3_RESTORE_TIMEOUT');
  return { ...(pollMs === undefined ? {} : { pollMs }), ...(timeoutMs === undefined ? {} : { timeoutMs }) };
}

/**
 * Node reads NODE_EXTRA_CA_CERTS once at start-up; AWS_CA_BUNDLE is the AWS
 * tools' convention that Node ignores. When either is given, the agent trusts
 * the public roots plus both files (an explicit `ca` replaces Node's list).
 */
async function extraCas(env: ClientEnv): Promise<string[] | undefined> {
  const files = [env.AWS_CA_BUNDLE, env.NODE_EXTRA_CA_CERTS].filter((f): f is string => !!f);
  if (files.length === 0) return undefined;
  const pems: string[] = [];
  for (const f of files) {
    try {
      pems.push(await readFile(f, 'utf8'));
    } catch (e) {
      throw new EbakError('USAGE', `cannot read CA bundle ${f}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e, hint: 'check AWS_CA_BUNDLE / NODE_EXTRA_CA_CERTS' });
    }
  }
  return [...rootCertificates, ...pems];
}
