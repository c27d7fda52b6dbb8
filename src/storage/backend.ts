/**
 * The storage contract. Every backend (local directory, S3, ...) implements
 * `Backend`; the repository never depends on a concrete backend. Retries,
 * concurrency limits and request accounting are wrappers around any Backend
 * (see retry.ts, limit.ts, accounting.ts), never code inside one backend.
 *
 * Backends store opaque bytes under (type, name). They do not authenticate
 * anything: the repository authenticates every object it reads back.
 */

/** The top-level folders of a repository (docs/format.md, "Layout"). */
export type FileType = 'config' | 'keys' | 'snapshots' | 'index' | 'data' | 'locks';

export const FILE_TYPES: readonly FileType[] = ['config', 'keys', 'snapshots', 'index', 'data', 'locks'];

export interface Handle {
  readonly type: FileType;
  /** Lower-case hex object id, or "config" for the config file. */
  readonly name: string;
}

export interface SaveOptions {
  /**
   * For `data` objects: whether the pack holds file contents ("data") or
   * directory trees ("tree"). Backends with storage classes may place data
   * packs in cold storage; tree packs and all other types stay hot.
   */
  readonly packKind?: 'data' | 'tree';
}

export interface ByteRange {
  readonly offset: number;
  readonly length: number;
}

export interface FileInfo {
  readonly name: string;
  readonly size: number;
}

export interface Backend {
  /** Human-readable location with any credentials removed (safe to print). */
  readonly location: string;

  /** Creates the container (directory tree, bucket). Idempotent. */
  create(): Promise<void>;

  /** True when the container exists and holds a `config` object. */
  isRepository(): Promise<boolean>;

  /**
   * Stores `data` under `h`, atomically: after success every reader sees all
   * bytes; after a failure or crash no reader sees a partial object. Saving
   * the same bytes again must succeed (content-addressed names make retries
   * safe). Throws EbakError('NO_SPACE') when the medium is full.
   */
  save(h: Handle, data: Uint8Array, opts?: SaveOptions): Promise<void>;

  /**
   * Returns the object's bytes, or only `range` of them. Throws
   * EbakError('NOT_FOUND') when the object does not exist, and
   * EbakError('CORRUPT') when the range lies beyond the object's end.
   */
  load(h: Handle, range?: ByteRange): Promise<Buffer>;

  /** Size of the object. Throws EbakError('NOT_FOUND') when missing. */
  stat(h: Handle): Promise<FileInfo>;

  /** Every object of `type` (any order). Must page through large listings. */
  list(type: FileType): AsyncIterable<FileInfo>;

  /**
   * Optional: makes `handles` readable before a batch of loads, and returns
   * once every one is. Backends with archive storage (S3 GLACIER,
   * DEEP_ARCHIVE) restore the archived objects and wait for them, telling
   * `onProgress` how many of those are ready; a backend whose objects are
   * always readable leaves it out (callers then skip the work of listing
   * handles). Wrappers define it exactly when the backend they wrap does.
   */
  prepareRead?(handles: readonly Handle[], onProgress?: (ready: number, total: number) => void): Promise<void>;

  /** Deletes the object. Deleting a missing object is not an error. */
  remove(h: Handle): Promise<void>;

  /** Releases connections and file handles. */
  close(): Promise<void>;
}
