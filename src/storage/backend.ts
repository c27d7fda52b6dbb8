/**
 * The storage contract. Every backend (local directory, S3, ...) implements
 * `Backend`; the repository never depends on a concrete backend. Retries,
 * concurrency limits and request accounting are wrappers around any Backend
 * (retry.ts, limit.ts, accounting.ts, on the forwarding base in forward.ts),
 * never code inside one backend. A backend declares what it can do beyond
 * the common operations in `capabilities`; test/storage/conformance.ts pins
 * this contract for every backend.
 *
 * Backends store opaque bytes under (type, name). They do not authenticate
 * anything: the repository authenticates every object it reads back.
 */
import { EbakError } from '../errors.js';
import type { SaveData } from './source.js';

export type { ByteSource, SaveData } from './source.js';

/** The top-level folders of a repository (docs/format.md, "Layout"). */
export type FileType = 'config' | 'keys' | 'snapshots' | 'index' | 'data' | 'locks' | 'retention';

export const FILE_TYPES: readonly FileType[] = ['config', 'keys', 'snapshots', 'index', 'data', 'locks', 'retention'];

export interface Handle {
  readonly type: FileType;
  /** Lower-case hex object id, or "config" for the config file. */
  readonly name: string;
  /** For a `data` load, when the caller knows it: "tree" names a tree pack, which the local cache keeps (cache.ts). Backends ignore it. */
  readonly packKind?: 'data' | 'tree';
}

/**
 * What a prepareRead is for: the objects, or their type and how to find them
 * (a restore's walk over the snapshot's trees). A backend calls `collect` only
 * when it must know which objects of the type are wanted: S3 does not when
 * one listing shows none of them archived, and the walk is saved. `collect` may
 * be called again (a retried prepareRead): it keeps its answer.
 */
export type ReadSet = readonly Handle[] | { readonly type: FileType; readonly collect: () => Promise<readonly Handle[]> };

/** Object names are hex ids (8-128 digits); anything else could escape the repository's layout. USAGE otherwise. */
export function checkName(name: string): void {
  if (!/^[0-9a-f]{8,128}$/.test(name)) throw new EbakError('USAGE', `invalid object name ${JSON.stringify(name)}`);
}

/** The handle as errors name it: `config`, `data/<id>`, ... */
export function describe(h: Handle): string {
  return h.type === 'config' ? 'config' : `${h.type}/${h.name}`;
}

/**
 * What every call takes. Aborting `signal` stops the call with
 * EbakError('CANCELLED') (storage/cancel.ts): before it starts, with its
 * request in flight (S3), or while it waits (backoff, bandwidth, archive
 * restores). A save stopped midway leaves no partial object (the atomicity
 * of `save` holds); whether it stored the object is then unknown, as after
 * any failure.
 */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

export interface SaveOptions extends CallOptions {
  /**
   * For `data` objects: whether the pack holds file contents ("data") or
   * directory trees ("tree"). Backends with storage classes may place data
   * packs in cold storage; tree packs and all other types stay hot.
   */
  readonly packKind?: 'data' | 'tree';
  /**
   * The SHA-256 of `data` in hex, when the caller has it already: every
   * object but config is named by it (docs/format.md), and a pack's id is
   * hashed as the pack is written. A backend that sends a checksum with the
   * upload takes it from here rather than hashing `data` again; the server
   * then checks the bytes it received against it (S3 refuses a mismatch).
   */
  readonly sha256?: string;
}

/** What a load takes. */
export interface LoadOptions extends CallOptions {
  /**
   * For a ranged load: a buffer of at least the range's length that the
   * backend may read the bytes into (the result is then a view of its
   * start), so a caller reading many ranges (a restore) reuses its memory
   * instead of a new buffer each time, every page of which faults as it is
   * first written. A backend may also ignore it (S3 when the server answers
   * with more than the range): the caller uses the result, never `into` itself.
   */
  readonly into?: Buffer | undefined;
}

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface FileInfo {
  readonly name: string;
  readonly size: number;
  /** The storage class, when the backend has classes and the listing says (S3: "GLACIER", ...). */
  readonly storageClass?: string;
  /** When the object was last written (ms since 1970), when the listing says (S3: LastModified; a minimum storage duration counts from it). */
  readonly modified?: number;
}

/**
 * What a backend can do beyond the operations every backend has, so that a
 * caller asks up front instead of learning it from a failed request. Fixed
 * for the life of a backend; wrappers report their backend's.
 */
export interface Capabilities {
  /**
   * Objects other than locks can never be deleted: `remove` of any other type
   * fails with STORAGE (not retryable) and the object stays. Whatever deletes
   * (prune, key removal) must refuse before it starts. An append-only server
   * or a write-only device's storage says true; local and S3 say false.
   */
  readonly appendOnly: boolean;
  /**
   * Data packs and snapshots may be under retention (S3 Object Lock, set by
   * ebak or by anyone else on the bucket): `remove` of one fails with
   * STORAGE, naming its retain-until date, and deletes nothing. The backend
   * can also write them locked (the S3 backend's `objectLock` option).
   */
  readonly objectLock: boolean;
  /** `save` honours `SaveOptions.packKind`: data packs may go to a colder, cheaper storage class. */
  readonly storageClasses: boolean;
  /** Objects may sit in archive storage and need `prepareRead` before a load; true exactly when `prepareRead` is defined. */
  readonly archiveRestore: boolean;
}

export interface Backend {
  /** Human-readable location with any credentials removed (safe to print). */
  readonly location: string;

  readonly capabilities: Capabilities;

  /** Creates the container (directory tree, bucket). Idempotent. */
  create(opts?: CallOptions): Promise<void>;

  /** True when the container exists and holds a `config` object. */
  isRepository(opts?: CallOptions): Promise<boolean>;

  /**
   * Stores `data` under `h`, atomically: after success every reader sees all
   * bytes; after a failure or crash no reader sees a partial object. Saving
   * the same bytes again must succeed (content-addressed names make retries
   * safe). `data` is bytes in memory or a ByteSource read in pieces
   * (source.ts), which a retry reads again from its start; it must not
   * change until the save has settled. Throws EbakError('NO_SPACE') when the
   * medium is full.
   */
  save(h: Handle, data: SaveData, opts?: SaveOptions): Promise<void>;

  /**
   * Returns the object's bytes, or only `range` of them. Throws
   * EbakError('NOT_FOUND') when the object does not exist, and
   * EbakError('CORRUPT') when the range lies beyond the object's end.
   */
  load(h: Handle, range?: ByteRange, opts?: LoadOptions): Promise<Buffer>;

  /** Size of the object. Throws EbakError('NOT_FOUND') when missing. */
  stat(h: Handle, opts?: CallOptions): Promise<FileInfo>;

  /** Every object of `type` (any order). Must page through large listings; an aborted signal stops it between pages. */
  list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo>;

  /**
   * Optional: makes the objects `wanted` names readable before a batch of
   * loads, and returns once every one is. Backends with archive storage (S3
   * GLACIER, DEEP_ARCHIVE) restore the archived objects and wait for them,
   * telling `onProgress` how many of those are ready; a backend whose objects
   * are always readable leaves it out (callers then skip the work of listing
   * handles). Wrappers define it exactly when the backend they wrap does.
   */
  prepareRead?(wanted: ReadSet, onProgress?: (ready: number, total: number) => void, opts?: CallOptions): Promise<void>;

  /**
   * Optional: rewrites data pack `h` in place in the colder `storageClass`
   * (S3: CopyObject onto its own key), the copy checked to be the same bytes
   * (size, ETag or SHA-256) before it is trusted, else CORRUPT. 'unchanged'
   * when it already sits in that class or a colder one; NOT_FOUND when it is
   * gone. Backends without storage classes leave it out; wrappers define it
   * exactly when the backend they wrap does.
   */
  changeStorageClass?(h: Handle, storageClass: string, opts?: CallOptions): Promise<'moved' | 'unchanged'>;

  /**
   * Optional: makes data pack `h` stay under Object Lock retention at least
   * as long as an object saved at `since` (S3: PutObjectRetention, only ever
   * later). 'unlocked' when the backend writes nothing locked (then no
   * request is made, and callers skip the rest of their packs); NOT_FOUND
   * when it is gone. Backends without Object Lock leave it out; wrappers
   * define it exactly when the backend they wrap does.
   */
  extendRetention?(h: Handle, since: Date, opts?: CallOptions): Promise<'extended' | 'unchanged' | 'unlocked'>;

  /**
   * Deletes the object. Deleting a missing object is not an error. Refused
   * (STORAGE) as `capabilities.appendOnly` and `capabilities.objectLock` say.
   */
  remove(h: Handle, opts?: CallOptions): Promise<void>;

  /** Releases connections and file handles. */
  close(): Promise<void>;
}
