/**
 * The repository's narrow interfaces (restic's `internal/restic`): the
 * archiver, restorer, checker and the commands each take only the ones they
 * use, never the concrete Repository, so they cannot reach storage or keys
 * behind the repository's checks, and a test or a new key source (a
 * write-only device) can stand in for any one of them. `Repository`
 * implements them all.
 */
import type { EbakError } from '../errors.js';
import type { Capabilities, FileInfo } from '../storage/backend.js';
import type { RepoConfig } from './format/config.js';
import type { IndexedPack, IndexFile } from './format/indexfile.js';
import type { Snapshot } from './format/snapshot.js';
import type { TreeNode } from './format/tree.js';
import type { TreeBlob } from './format/tree-split.js';
import type { KeyListing } from './keyring.js';
import type { BlobLocation, PackInfo } from './masterindex.js';
import type { WorkerPool } from './workers.js';

export type { BlobLocation, PackInfo } from './masterindex.js';

export interface SnapshotEntry {
  id: string;
  snapshot: Snapshot;
}

/** Snapshots: listed, loaded (authenticated), resolved from a reference, saved. */
export interface SnapshotStore {
  /** Every snapshot id (any order). */
  listSnapshots(): Promise<string[]>;
  loadSnapshot(id: string): Promise<Snapshot>;
  /** Every readable snapshot, oldest first, and the errors of the damaged ones. */
  readSnapshots(): Promise<{ snapshots: SnapshotEntry[]; damaged: EbakError[] }>;
  /** Resolves "latest", a full id or a unique prefix of at least 4 hex digits. */
  findSnapshot(ref: string): Promise<SnapshotEntry>;
  /** Saves a snapshot; returns its id. */
  saveSnapshot(s: Snapshot): Promise<string>;
}

/** Names of snapshot objects and index files. */
export interface HeadNames {
  snapshots?: readonly string[];
  indexes?: readonly string[];
}

/**
 * A record of the repository's snapshots and index files kept outside its
 * storage (a vault's repository head, docs/vault.md), for the writers that
 * delete them: a removal is announced before the delete and confirmed
 * after, so a crash between the two is never taken for a rollback.
 * (Additions are posted by whoever composed it, after the objects are
 * stored.) Absent in local mode: there is nothing to tell.
 */
export interface HeadRecorder {
  /** Before deleting `names`: they become pending. */
  removing(names: HeadNames): Promise<void>;
  /** After deleting them: removed for good (a copy put back later is a replay). */
  removed(names: HeadNames): Promise<void>;
  /** Names a removal that did not finish left pending: a command that may delete finishes them. */
  pending(): Required<HeadNames>;
}

/** Loads trees by id, authenticated and validated (single-component names, sorted). */
export interface TreeLoader {
  /** A directory's entries, whole: a split directory's parts are read and joined (src/repository/trees.ts). */
  loadTree(id: string): Promise<TreeNode[]>;
  /**
   * One tree blob as stored: entries, or the root of a split directory
   * naming its parts (docs/format.md, "Split directories"). Readers that
   * stream a directory part by part use it (src/repository/trees.ts); a
   * loader without it serves every directory whole through loadTree.
   */
  loadTreeBlob?(id: string): Promise<TreeBlob>;
}

/** Where the loaded index says blobs are. */
export interface BlobIndex {
  hasBlob(id: Uint8Array): boolean;
  lookupBlob(id: Uint8Array): BlobLocation | undefined;
}

export interface LocatedBlob {
  id: Buffer;
  loc: BlobLocation;
}

/** Reads blobs through the worker pool (restic's `LoadBlobsFromPack`). */
export interface BlobReader extends BlobIndex {
  /**
   * Present exactly when the storage has archive tiers: makes the named
   * data packs readable before they are read, and returns once all are
   * (the wait may be hours); `onProgress` hears how many are ready. The
   * packs may be given as how to find them (a restore's walk), which runs
   * only if the storage must know them (ReadSet in storage/backend.ts), once.
   */
  prepareRead?(packIds: readonly string[] | (() => Promise<readonly string[]>), onProgress?: (ready: number, total: number) => void): Promise<void>;
  /**
   * Reads, authenticates and decompresses `blobs` (each must be of `type`).
   * Neighbouring blobs of one pack are fetched with one ranged read;
   * `onBlob(i, plain)` receives each blob (by its position in `blobs`) as it
   * is ready. After the first failure no further read starts; the promise
   * rejects with that failure once every read in flight has settled.
   */
  readBlobs(type: number, blobs: readonly LocatedBlob[], onBlob: (i: number, plain: Buffer) => void): Promise<void>;
  /** The index knows another copy of the blob, which readBlobs tries when the first is damaged (readRun does not). */
  hasCopies(id: Uint8Array): boolean;
  /**
   * Reads `run` (blobs of one pack, in pack order; the caller bounds the
   * span) with one ranged read from the first to the end of the last, and
   * has a worker thread open each and hand them all, with `task`, to the
   * `consume` export of the module at `sink` (restic's handleBlobFn, run in
   * the thread that opened the blobs, so their bytes never come back).
   * Resolves with what `consume` returns. A blob that does not open reaches
   * `consume` as its error; a failed read rejects. At most a few runs are
   * read at once.
   */
  readRun(type: number, run: readonly LocatedBlob[], sink: URL, task: unknown): Promise<unknown>;
}

/** Stores new blobs into packs (the Packer); what it has accepted is durable after `finish`. */
export interface BlobWriter {
  /** The keyed id of a blob's plaintext. */
  blobId(data: Uint8Array): Buffer;
  /** True when the blob is stored or already queued. */
  has(id: Buffer): boolean;
  /**
   * Queues a blob unless known; `data` is transferred to a worker: the caller must not use it afterwards.
   * `sealed`, when the blob is queued, is told its size as stored (compressed and encrypted: restic's size in repo).
   */
  add(type: number, id: Buffer, data: Buffer, sealed?: (bytes: number) => void): Promise<boolean>;
  /** Saves every open pack and the remaining index. */
  finish(): Promise<void>;
  /** After a cancellation: accepts nothing more, waits for the writes in flight, indexes the packs saved. */
  abandon(): Promise<void>;
  readonly stats: PackerStats;
}

/** What a BlobWriter has stored so far. */
export interface PackerStats {
  dataBlobs: number;
  treeBlobs: number;
  /** Bytes written to storage (packs and index files). */
  bytesStored: number;
}

/** Content-defined chunking keyed for this repository: the gear seed and the chunk sizes. */
export interface Chunking {
  readonly gearSeed: Buffer;
  readonly params: { min: number; avg: number; max: number };
}

/** What a backup writes through: a blob writer on a worker pool, and the repository's chunking. */
export interface BlobStore {
  readonly chunking: Chunking;
  blobWriter(pool: WorkerPool): BlobWriter;
}

/** The index files themselves (for check), as opposed to the merged index. */
export interface IndexFiles {
  listIndexFiles(): Promise<string[]>;
  /** Loads, authenticates and merges one index file; returns its packs. */
  loadIndexFile(name: string): Promise<IndexedPack[]>;
  /** Every pack the merged index names. */
  indexedPacks(): readonly PackInfo[];
  /** How many blobs the merged index holds. */
  blobCount(): number;
}

/** The stored data packs (for check). */
export interface PackStore {
  listPacks(): Promise<FileInfo[]>;
  /**
   * Downloads one pack and verifies it whole: its name is its SHA-256, its
   * header and every blob authenticate, and the index agrees with the header.
   * Returns the problems found; throws an EbakError when it cannot be read.
   */
  checkPack(id: string): Promise<string[]>;
}

/** The key envelopes, readable without any secret. */
export interface KeyLister {
  listKeys(): Promise<KeyListing[]>;
}

/** 'prune': excludes exclusive holders and other prunes, not shared holders. */
export type LockMode = 'shared' | 'exclusive' | 'prune';

/** A lock object's contents (docs/format.md, "Locks"), as read back. */
export interface LockInfo {
  time: string;
  hostname: string;
  username: string;
  pid: number;
  exclusive: boolean;
  /** When the holder took the lock (refreshes keep it); absent in locks of earlier writers. */
  started?: string;
  /** A prune lock (exclusive is then false, so earlier readers see a shared lock). */
  prune?: boolean;
}

/** A held lock; refreshed in the background until released. */
export interface Lock {
  /** The lock object's current name (it changes at each refresh). */
  id(): string;
  release(): Promise<void>;
}

/**
 * Repository locks: any number of shared holders (with at most one prune),
 * or one exclusive holder (for operations that delete snapshots or keys).
 * `onStale` hears about stale locks ignored.
 */
export interface Locker {
  lock(mode: LockMode, onStale: (msg: string) => void): Promise<Lock>;
}

/**
 * The local retention lock and holds (docs/format.md "Retention"), as
 * object payloads: src/operations/retention.ts decodes them and keeps the
 * newest. Several may exist after a crash between saving and removing.
 */
export interface RetentionObjects {
  readRetentionObjects(): Promise<{ name: string; payload: Buffer }[]>;
  saveRetentionObject(payload: Buffer): Promise<string>;
  removeRetentionObject(name: string): Promise<void>;
}

/** The index files as prune reads them (readers ignore superseded ones; prune removes them). */
export interface IndexState {
  /** Readable index files no readable one supersedes. */
  current: { name: string; file: IndexFile }[];
  /** Readable index files another supersedes (left by an interrupted prune). */
  superseded: string[];
  /** Index files that failed authentication or parsing. */
  damaged: string[];
}

/** What prune reads and writes (src/operations/prune.ts; docs/format.md, "Deleting data"). */
export interface PruneStore extends SnapshotStore, TreeLoader, Locker {
  readonly config: RepoConfig;
  /** What the storage allows (prune refuses append-only storage before it starts). */
  readonly storage: Capabilities;
  /** Reads every index file once: loads the merged index (trees are read through it) and returns the files' state. */
  loadIndexState(): Promise<IndexState>;
  /** Brings the loaded index up to date with the index files stored now. */
  refreshIndex(): Promise<void>;
  /** The loaded index takes `file`, saved as `name` in place of the removed files `replaced` (no reload at the next refresh). */
  indexReplaced(replaced: readonly string[], name: string, file: IndexFile): void;
  /** The stored data packs. */
  listPacks(): Promise<FileInfo[]>;
  /** A pack's authenticated header, as an index entry (for packs no index covers). */
  readPackHeader(id: string): Promise<IndexedPack>;
  blobReader(pool: WorkerPool): BlobReader;
  /** A writer storing every blob given to it, known or not (repacking). */
  repackWriter(pool: WorkerPool): BlobWriter;
  saveIndexFile(file: IndexFile): Promise<string>;
  removeIndexFile(name: string): Promise<void>;
  /** (Only to finish a removal a crashed forget left pending in a repository head.) */
  removeSnapshot(id: string): Promise<void>;
  removePack(id: string): Promise<void>;
  /** The live locks of other holders, read now. */
  otherLocks(mine: Lock): Promise<LockInfo[]>;
}
