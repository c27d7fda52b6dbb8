/**
 * What every repository a backup writes into shares, whichever key opened
 * it: the blob index it deduplicates against, blob ids and chunking, this
 * run's --compression/--pack-size and --retry-lock, and the two sinks the
 * CLI attaches. Repository (a full key) and WriteOnlyRepository (a
 * write-only credential) extend it, so this surface is one piece of code;
 * how each seals packs and objects stays theirs.
 */
import type { Chunking, Lock, LockMode } from './api.js';
import { BlobIds } from './blobid.js';
import type { RepoConfig } from './format/config.js';
import { MasterIndex, type BlobLocation } from './masterindex.js';

type Writing = Partial<Pick<RepoConfig, 'compression_level' | 'pack_size'>>;

export abstract class WritableRepository {
  protected readonly index = new MasterIndex();
  protected readonly blobIds: BlobIds;
  /** This run's --compression / --pack-size, over the config's. */
  protected writing: Writing = {};
  protected lockRetryMs = 0;
  /** Where a damaged object that is read around is reported (the CLI prints each as a warning). */
  protected warn: (message: string) => void = () => {};
  protected stored: (kind: 'snapshot' | 'index', name: string) => void = () => {};

  /** The config values packs are written with (the stored config, or what a credential carries). */
  abstract readonly config: Pick<RepoConfig, 'chunker' | 'compression_level' | 'pack_size'>;

  protected constructor(blobIdKey: Buffer, private readonly gearSeed: Buffer) {
    this.blobIds = new BlobIds(blobIdKey);
  }

  blobId(data: Uint8Array): Buffer {
    return this.blobIds.id(data);
  }

  get chunking(): Chunking {
    return { gearSeed: this.gearSeed, params: this.config.chunker };
  }

  hasBlob(id: Uint8Array): boolean {
    return this.index.has(id);
  }

  lookupBlob(id: Uint8Array): BlobLocation | undefined {
    return this.index.lookup(id);
  }

  /**
   * restic's --compression and --pack-size for what this run writes: the
   * zstd level (0: none) and the target pack size. Readers need neither (a
   * blob says whether it is compressed; a pack's size is in its index entry).
   */
  setWriting(o: Writing): void {
    this.writing = o;
  }

  /**
   * Takes a lock, then brings a loaded index up to date: the index a command
   * loaded before it held the lock may predate a prune's marks, and a
   * backup must not deduplicate against a pack marked for deletion
   * (docs/format.md, "Deleting data": this re-read is what makes the
   * lock-age rule sufficient).
   */
  async lock(mode: LockMode, onStale: (msg: string) => void): Promise<Lock> {
    const lock = await this.acquire(mode, onStale);
    try {
      await this.refreshIndex();
    } catch (e) {
      await lock.release().catch(() => undefined);
      throw e;
    }
    return lock;
  }

  /** Takes the lock itself (its objects are the subclass's: sealed under K, or a credential's own). */
  protected abstract acquire(mode: LockMode, onStale: (msg: string) => void): Promise<Lock>;

  /** Merges index files stored since the index was loaded. */
  protected abstract refreshIndex(): Promise<void>;

  /**
   * restic's --retry-lock: while another process holds a conflicting lock,
   * try again until `ms` have passed (locks.ts acquireLockRetrying). 0 (the default): no retry.
   */
  retryLocksFor(ms: number): void {
    this.lockRetryMs = ms;
  }

  /** Damage reports (objects read around instead of failing the command) go to `sink`. */
  setWarningSink(sink: (message: string) => void): void {
    this.warn = sink;
  }

  /** Every snapshot and index file this repository stores is told to `sink` once it is durable (a vault's head journal). */
  setStoredSink(sink: (kind: 'snapshot' | 'index', name: string) => void): void {
    this.stored = sink;
  }
}
