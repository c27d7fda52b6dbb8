/**
 * The S3 Backend (@aws-sdk/client-s3, any S3 endpoint, path-style for custom
 * ones), over a client built by client.ts.
 *
 * Keys follow the local layout under an optional prefix: `<prefix>/config`,
 * `<prefix>/keys/<id>`, `<prefix>/data/<2 hex>/<id>`, ...
 *
 * This class does no retrying; it classifies failures (errors.ts) and marks
 * the transient ones `retryable` for the retry wrapper (retry.ts). Every
 * upload carries x-amz-checksum-sha256, the caller's (SaveOptions.sha256: a
 * pack's id) or computed here, so S3 refuses bytes corrupted in transit; the
 * SigV4 payload hash is the same digest (client.ts), never hashed again. A
 * save from a ByteSource goes up as a stream of pieces read from it (a
 * multipart upload reads each part when it sends it), so no buffer of the
 * whole object is made. Object Lock (objectlock.ts; reused
 * packs' retention extended, retention.ts) and archive restores (thaw.ts)
 * are options of this backend, given typed;
 * moving a pack to a colder class is coldcopy.ts's. Every request carries
 * the call's signal (CallOptions) to the SDK, so aborting it aborts the
 * request in flight.
 *
 * (Just over 400 lines: the Backend interface's eleven operations, each a
 * few lines of SDK call and error mapping; what can stand alone already does.)
 */
import { Readable } from 'node:stream';
import type { BucketLocationConstraint, CompletedPart, S3Client } from '@aws-sdk/client-s3';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  RestoreObjectCommand,
  UploadPartCommand,
} from './sdk.js';
import { EbakError, isEbakError } from '../../errors.js';
import { Semaphore } from '../../util/semaphore.js';
import { checkName, describe, type Backend, type ByteRange, type CallOptions, type Capabilities, type FileInfo, type FileType, type Handle, type LoadOptions, type ReadSet, type SaveData, type SaveOptions } from '../backend.js';
import { isSource, pieces, PIECE_BYTES, sha256Of, sizeOf, type ByteSource } from '../source.js';
import { formatLocation, type S3Location } from '../location.js';
import { retryable } from '../retry.js';
import { readBody } from './body.js';
import { errorName, mapS3Error } from './errors.js';
import { checkBucketLock, checkObjectLock, isLockedType, lockParams, lockRefusal, refuseLockedDelete, type LockState, type ObjectLockOptions } from './objectlock.js';
import { DATA_STORAGE_CLASSES, type DataStorageClass } from './classes.js';
import { moveColder, type ObjectHead } from './coldcopy.js';
import { extendPack, RetentionTable } from './retention.js';
import { restoreSettings, thaw, type ArchiveRestoreOptions, type RestoreTier } from './thaw.js';


const MiB = 1024 * 1024;
/** S3's smallest allowed part (all but the last). */
const MIN_PART = 5 * MiB;

export interface S3BackendOptions {
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
  /** How prepareRead restores archived (GLACIER, DEEP_ARCHIVE) objects (thaw.ts). */
  readonly archiveRestore?: ArchiveRestoreOptions;
  /** Object Lock retention for data packs and snapshots (objectlock.ts); the bucket must have Object Lock enabled. */
  readonly objectLock?: ObjectLockOptions;
}

/** What PutObject and CreateMultipartUpload of one object share. */
type UploadParams = { Bucket: string; Key: string; StorageClass: 'STANDARD' | DataStorageClass } & Partial<ReturnType<typeof lockParams>>;

export class S3Backend implements Backend {
  readonly location: string;
  /** Object Lock: S3 refuses to delete a locked object whoever locked it, so this holds with or without `objectLock`. */
  readonly capabilities: Capabilities = { appendOnly: false, objectLock: true, storageClasses: true, archiveRestore: true };
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly threshold: number;
  private readonly partBytes: number;
  private readonly partConcurrency: number;
  private readonly thawing: ReturnType<typeof restoreSettings>;
  private lock: Required<ObjectLockOptions> | undefined;
  /** Retain-until dates known per data pack (retention.ts), so extendRetention asks S3 only about packs that may need it. */
  private readonly retention = new RetentionTable();

  constructor(private readonly client: S3Client, loc: S3Location, private readonly region: string | undefined, private readonly opts: S3BackendOptions = {}) {
    this.location = formatLocation(loc);
    this.bucket = loc.bucket;
    this.prefix = loc.prefix;
    this.threshold = opts.multipartThresholdBytes ?? 32 * MiB;
    this.partBytes = opts.partBytes ?? 8 * MiB;
    this.partConcurrency = opts.partConcurrency ?? 4;
    this.thawing = restoreSettings(opts.archiveRestore);
    if (opts.objectLock) this.setObjectLock(opts.objectLock);
    if (this.partBytes < MIN_PART) throw new EbakError('USAGE', `S3 part size must be at least 5 MiB, got ${this.partBytes} bytes`);
    if (opts.dataStorageClass !== undefined && !DATA_STORAGE_CLASSES.includes(opts.dataStorageClass))
      throw new EbakError('USAGE', `unknown S3 data storage class ${JSON.stringify(opts.dataStorageClass)}`, { hint: `use one of ${DATA_STORAGE_CLASSES.join(', ')}` });
  }

  /**
   * Sets the retention of the data packs and snapshots saved from now on:
   * the `objectLock` option, for a caller that learns it only after opening
   * (it is stored in the repository config). Validated (USAGE) at once.
   */
  setObjectLock(o: ObjectLockOptions): void {
    this.lock = checkObjectLock(o);
  }

  /** Keeps the retention table (retention.ts) in `file` between commands: the local cache's, once the repository is known. */
  keepRetentionTable(file: string): Promise<void> {
    return this.retention.keepIn(file);
  }

  async create(opts?: CallOptions): Promise<void> {
    const signal = opts?.signal;
    try {
      await this.send('check bucket', signal, (c, o) => c.send(new HeadBucketCommand({ Bucket: this.bucket }), o));
      if (this.lock) await this.checkBucketLock(signal);
      return;
    } catch (e) {
      if (!isEbakError(e, 'NOT_FOUND') && !isEbakError(e, 'NO_REPOSITORY')) throw e;
    }
    // us-east-1 is the default and must not be named (S3 answers InvalidLocationConstraint).
    const constraint = this.region && this.region !== 'us-east-1' ? { LocationConstraint: this.region as BucketLocationConstraint } : undefined;
    try {
      // Object Lock can be turned on when the bucket is created (S3 then enables versioning too).
      const lock = this.lock ? { ObjectLockEnabledForBucket: true } : {};
      await this.send('create bucket', signal, (c, o) => c.send(new CreateBucketCommand({ Bucket: this.bucket, CreateBucketConfiguration: constraint, ...lock }), o));
    } catch (e) {
      // Another process created it between our check and our create.
      if (!(isEbakError(e) && errorName(e.cause) === 'BucketAlreadyOwnedByYou')) throw e;
    }
  }

  async isRepository(opts?: CallOptions): Promise<boolean> {
    try {
      await this.stat({ type: 'config', name: 'config' }, opts);
      return true;
    } catch (e) {
      if (isEbakError(e, 'NOT_FOUND') || isEbakError(e, 'NO_REPOSITORY')) return false;
      throw e;
    }
  }

  async save(h: Handle, data: SaveData, opts?: SaveOptions): Promise<void> {
    const what = `write ${describe(h)}`;
    const locked = this.lock && isLockedType(h) ? lockParams(this.lock) : undefined;
    const common: UploadParams = { Bucket: this.bucket, Key: this.key(h), StorageClass: this.storageClass(h, opts), ...locked };
    try {
      await this.upload(what, common, data, opts?.sha256, opts?.signal);
    } catch (e) {
      throw (this.lock && lockRefusal(e, `${what} on ${this.location}`, this.bucket)) || e;
    }
    if (h.type === 'data' && locked) this.retention.learn(h.name, locked.ObjectLockRetainUntilDate.getTime());
  }

  /** A data pack stays locked at least N days from `since` (retention.ts): no request when known, else a HEAD and maybe one PutObjectRetention. */
  async extendRetention(h: Handle, since: Date, opts?: CallOptions): Promise<'extended' | 'unchanged' | 'unlocked'> {
    if (!this.lock) return 'unlocked';
    if (h.type !== 'data') throw new EbakError('USAGE', `only data packs have their retention extended, not ${describe(h)}`);
    const signal = opts?.signal;
    const Key = this.key(h);
    return extendPack(h.name, this.lock, this.retention, {
      head: () => this.lockState(h, signal),
      put: async (Mode, RetainUntilDate) => {
        await this.send(`extend Object Lock retention of ${describe(h)}`, signal, (c, o) => c.send(new PutObjectRetentionCommand({ Bucket: this.bucket, Key, Retention: { Mode, RetainUntilDate } }), o));
      },
    }, since.getTime());
  }

  /** `digest`: the body's SHA-256 in hex when the caller knows it (SaveOptions.sha256); a single PUT then hashes nothing. */
  private async upload(what: string, common: UploadParams, data: SaveData, digest: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    const length = sizeOf(data);
    if (length <= this.threshold) {
      const ChecksumSHA256 = digest === undefined ? (await sha256Of(data)).toString('base64') : hexToBase64(digest);
      if (!isSource(data)) {
        await this.send(what, signal, (c, o) => c.send(new PutObjectCommand({ ...common, Body: data, ContentLength: length, ChecksumSHA256 }), o));
        return;
      }
      await this.putStreamed(what, common, data, length, ChecksumSHA256, signal);
      return;
    }
    const { UploadId } = await this.send(what, signal, (c, o) => c.send(new CreateMultipartUploadCommand({ ...common, ChecksumAlgorithm: 'SHA256' }), o));
    if (!UploadId) throw retryable(new EbakError('STORAGE', `${what} on ${this.location}: no upload id in the answer to CreateMultipartUpload`));
    const ref = { Bucket: this.bucket, Key: common.Key, UploadId };
    try {
      const parts = await this.uploadParts(what, ref, data, signal);
      await this.send(what, signal, (c, o) => c.send(new CompleteMultipartUploadCommand({ ...ref, MultipartUpload: { Parts: parts } }), o));
    } catch (e) {
      // Best effort, and after a cancellation too: an upload left behind costs storage until a lifecycle rule removes it.
      await this.send(what, undefined, (c) => c.send(new AbortMultipartUploadCommand(ref))).catch(() => undefined);
      throw e;
    }
  }

  /**
   * A single PUT whose body is read from `source`, as a new stream per
   * attempt (a retry, retry.ts, reads it again from its start). A read that
   * fails (the pack discarded because the backup failed meanwhile) ends the
   * request with that error: the SDK does not listen for a body stream's
   * errors, and one nobody heard would end the process.
   */
  private async putStreamed(what: string, common: UploadParams, source: ByteSource, length: number, ChecksumSHA256: string, signal: AbortSignal | undefined): Promise<void> {
    const Body = Readable.from(pieces(source, false), { objectMode: false, highWaterMark: PIECE_BYTES });
    const readFailed = new AbortController();
    let failure: unknown;
    Body.on('error', (e) => {
      failure ??= e;
      readFailed.abort();
    });
    const both = signal ? AbortSignal.any([signal, readFailed.signal]) : readFailed.signal;
    try {
      await this.send(what, both, (c, o) => c.send(new PutObjectCommand({ ...common, Body, ContentLength: length, ChecksumSHA256 }), o));
    } catch (e) {
      throw failure ?? e;
    } finally {
      Body.destroy(); // a request that failed midway left it unread
    }
  }

  async load(h: Handle, range?: ByteRange, opts?: LoadOptions): Promise<Buffer> {
    if (range) checkRange(range);
    if (range?.length === 0) {
      await this.stat(h, opts);
      return Buffer.alloc(0);
    }
    const what = `read ${describe(h)}`;
    const Range = range ? `bytes=${range.offset}-${range.offset + range.length - 1}` : undefined;
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(h), Range }), sendOptions(opts?.signal));
      if (!r.Body) throw retryable(new EbakError('STORAGE', `${what} on ${this.location}: response had no body`));
      // HTTP lets a server send more than asked (the whole object without
      // Content-Range; s3rver answers bytes=0-0 with all bytes): cut our range out.
      const start = !range || r.ContentRange === undefined ? 0 : Number(/^bytes (\d+)-/.exec(r.ContentRange)?.[1] ?? NaN);
      if (range && !(start <= range.offset)) {
        (r.Body as Readable).destroy(); // unread, it would hold its connection
        throw new EbakError('STORAGE', `${what} on ${this.location}: server answered range ${r.ContentRange}, not ${Range}`);
      }
      // `into` only for a body that starts at the range: the result must be a view of its start.
      const into = range && start === range.offset ? opts?.into : undefined;
      let body = await readBody(r.Body as Readable, r.ContentLength, `${what} on ${this.location}`, into);
      if (r.ContentLength !== undefined && body.length !== r.ContentLength)
        throw retryable(new EbakError('STORAGE', `${what} on ${this.location}: got ${body.length} of ${r.ContentLength} bytes`));
      if (!range) return body;
      body = body.subarray(range.offset - start, range.offset - start + range.length);
      // S3 answers a range that starts inside the object but ends past it with the shorter tail.
      if (body.length !== range.length) throw beyondEnd(h, range);
      return body;
    } catch (e) {
      throw this.mapped(e, what); // a 416 maps to CORRUPT
    }
  }

  async stat(h: Handle, opts?: CallOptions): Promise<FileInfo> {
    const r = await this.send(`stat ${describe(h)}`, opts?.signal, (c, o) => c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(h) }), o));
    return { name: h.name, size: r.ContentLength ?? 0 };
  }

  async *list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo> {
    if (type === 'config') {
      if (await this.isRepository(opts)) yield await this.stat({ type, name: 'config' }, opts);
      return;
    }
    const dir = this.join(`${type}/`);
    let token: string | undefined;
    do {
      const r = await this.send(`list ${type}`, opts?.signal, (c, o) => c.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: dir, ContinuationToken: token }), o));
      for (const o of r.Contents ?? []) {
        const name = entryName(type, (o.Key ?? '').slice(dir.length));
        if (name !== undefined) yield { name, size: o.Size ?? 0, ...(o.StorageClass ? { storageClass: o.StorageClass } : {}), ...(o.LastModified ? { modified: o.LastModified.getTime() } : {}) };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }

  /**
   * A data pack or snapshot still under Object Lock retention is refused
   * before the DELETE (on a versioned S3 bucket a DELETE would "succeed" by
   * hiding the object behind a delete marker while its bytes stay locked).
   */
  async remove(h: Handle, opts?: CallOptions): Promise<void> {
    if (isLockedType(h)) {
      let state: LockState;
      try {
        state = await this.lockState(h, opts?.signal);
      } catch (e) {
        if (isEbakError(e, 'NOT_FOUND')) return;
        throw e;
      }
      refuseLockedDelete(`delete ${describe(h)} on ${this.location}`, state);
    }
    await this.send(`delete ${describe(h)}`, opts?.signal, (c, o) => c.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(h) }), o));
  }

  /**
   * Archived objects among `handles` are restored (RestoreObject) and waited
   * for (thaw.ts); costs one LIST per 1,000 objects of their type, or a HEAD
   * per handle where that is fewer requests, when none is archived. An
   * aborted signal ends the wait (the restores asked for go on at S3).
   */
  async prepareRead(wanted: ReadSet, onProgress?: (ready: number, total: number) => void, opts?: CallOptions): Promise<void> {
    const signal = opts?.signal;
    const ops = {
      head: (h: Handle) => this.archiveState(h, signal),
      requestRestore: (h: Handle, days: number, tier: RestoreTier) => this.requestRestore(h, days, tier, signal),
      list: (type: FileType) => this.list(type, opts),
    };
    await thaw(ops, wanted, this.thawing, onProgress, signal);
  }

  /** A data pack copied onto its own key in a colder class, the copy verified (coldcopy.ts). */
  async changeStorageClass(h: Handle, storageClass: string, opts?: CallOptions): Promise<'moved' | 'unchanged'> {
    if (h.type !== 'data') throw new EbakError('USAGE', `only data packs move to a colder storage class, not ${describe(h)}`);
    const signal = opts?.signal;
    return moveColder({ head: (x) => this.objectHead(x, signal), copyInPlace: (x, cls, etag) => this.copyInPlace(x, cls, etag, signal) }, h, storageClass);
  }

  async close(): Promise<void> {
    await this.retention.flush();
    this.client.destroy();
  }

  private async objectHead(h: Handle, signal: AbortSignal | undefined): Promise<ObjectHead> {
    const r = await this.send(`stat ${describe(h)}`, signal, (c, o) => c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(h) }), o));
    return { size: r.ContentLength ?? 0, etag: r.ETag, storageClass: r.StorageClass ?? 'STANDARD' };
  }

  /**
   * MetadataDirective REPLACE: ebak stores no object metadata to keep, and
   * some S3-compatible servers (s3rver) refuse a copy onto the same key
   * without it even when the class changes.
   */
  private async copyInPlace(h: Handle, storageClass: string, etag: string | undefined, signal: AbortSignal | undefined): Promise<{ checksumSHA256?: string | undefined }> {
    const Key = this.key(h);
    const r = await this.send(`move ${describe(h)} to ${storageClass}`, signal, (c, o) => c.send(new CopyObjectCommand({
      Bucket: this.bucket, Key, CopySource: `${this.bucket}/${Key}`, StorageClass: storageClass as DataStorageClass,
      MetadataDirective: 'REPLACE', ChecksumAlgorithm: 'SHA256', ...(etag ? { CopySourceIfMatch: etag } : {}),
    }), o));
    return { checksumSHA256: r.CopyObjectResult?.ChecksumSHA256 };
  }

  private async archiveState(h: Handle, signal: AbortSignal | undefined): Promise<{ storageClass?: string; restore?: string }> {
    const r = await this.send(`stat ${describe(h)}`, signal, (c, o) => c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(h) }), o));
    return { storageClass: r.StorageClass, restore: r.Restore };
  }

  private async lockState(h: Handle, signal: AbortSignal | undefined): Promise<LockState> {
    const r = await this.send(`stat ${describe(h)}`, signal, (c, o) => c.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key(h) }), o));
    return { mode: r.ObjectLockMode, retainUntil: r.ObjectLockRetainUntilDate, legalHold: r.ObjectLockLegalHoldStatus };
  }

  private checkBucketLock(signal: AbortSignal | undefined): Promise<void> {
    const what = `check Object Lock of bucket ${this.bucket} on ${this.location}`;
    const fetch = async () => {
      const r = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }), sendOptions(signal));
      return { enabled: r.ObjectLockConfiguration?.ObjectLockEnabled, rule: r.ObjectLockConfiguration?.Rule?.DefaultRetention };
    };
    return checkBucketLock(fetch, this.bucket, what, (e) => this.mapped(e, what));
  }

  private async requestRestore(h: Handle, Days: number, Tier: RestoreTier, signal: AbortSignal | undefined): Promise<void> {
    const what = `restore ${describe(h)} from archive`;
    try {
      await this.client.send(new RestoreObjectCommand({ Bucket: this.bucket, Key: this.key(h), RestoreRequest: { Days, GlacierJobParameters: { Tier } } }), sendOptions(signal));
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

  /**
   * Uploads every part (at most partConcurrency at once) and waits for all
   * before reporting a failure. A source's part is read into a buffer when
   * it is sent (one buffer per part in flight, reused for the next part).
   */
  private async uploadParts(what: string, ref: { Bucket: string; Key: string; UploadId: string }, data: SaveData, signal: AbortSignal | undefined): Promise<CompletedPart[]> {
    const sem = new Semaphore(this.partConcurrency);
    const length = sizeOf(data);
    const free: Buffer[] = [];
    const offsets: number[] = [];
    for (let o = 0; o < length; o += this.partBytes) offsets.push(o);
    const results = await Promise.allSettled(
      offsets.map((at, i) =>
        sem.run(async (): Promise<CompletedPart> => {
          const part = await partOf(data, at, Math.min(this.partBytes, length - at), () => free.pop() ?? Buffer.allocUnsafeSlow(this.partBytes));
          try {
            const sum = (await sha256Of(part)).toString('base64');
            const r = await this.send(what, signal, (c, o) => c.send(new UploadPartCommand({ ...ref, PartNumber: i + 1, Body: part, ContentLength: part.length, ChecksumSHA256: sum }), o));
            return { PartNumber: i + 1, ETag: r.ETag, ChecksumSHA256: sum };
          } finally {
            if (isSource(data)) free.push(Buffer.from(part.buffer)); // the whole part buffer, for the next part
          }
        }),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    return results.map((r) => (r as PromiseFulfilledResult<CompletedPart>).value);
  }

  /** Runs one SDK call (`o` carries `signal` to the SDK) and turns any failure into a classified EbakError. */
  private async send<T>(what: string, signal: AbortSignal | undefined, call: (c: S3Client, o: SendOptions) => Promise<T>): Promise<T> {
    try {
      return await call(this.client, sendOptions(signal));
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

type SendOptions = { abortSignal?: AbortSignal };

/** The SDK's options of one request: aborting `signal` aborts it (the SDK rejects with an AbortError, errors.ts makes it CANCELLED). */
function sendOptions(signal: AbortSignal | undefined): SendOptions {
  return signal ? { abortSignal: signal } : {};
}

/** Bytes [at, at + n) of `data`: a view of bytes in memory, or read from a source into a buffer from `spare` (its own ArrayBuffer). */
async function partOf(data: SaveData, at: number, n: number, spare: () => Buffer): Promise<Buffer> {
  if (!isSource(data)) return Buffer.from(data.buffer, data.byteOffset + at, n);
  const into = spare().subarray(0, n);
  await data.read(at, into);
  return into;
}

/** A caller's hex SHA-256 as the header wants it; anything but 64 hex digits is the caller's bug (USAGE), not S3's to find. */
function hexToBase64(hex: string): string {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new EbakError('USAGE', `invalid SHA-256 ${JSON.stringify(hex)} given with an upload`);
  return Buffer.from(hex, 'hex').toString('base64');
}

function checkRange(r: ByteRange): void {
  if (!Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.length) || r.offset < 0 || r.length < 0)
    throw new EbakError('USAGE', `invalid byte range ${r.offset}+${r.length}`);
}

function beyondEnd(h: Handle, r: ByteRange): EbakError {
  return new EbakError('CORRUPT', `${describe(h)}: range ${r.offset}+${r.length} lies beyond the end of the object`);
}
