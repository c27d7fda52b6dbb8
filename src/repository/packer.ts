/**
 * Writes new blobs into packs. Each blob is assigned to the open pack of its
 * kind when it is queued, then compressed and sealed on the worker pool
 * under that pack's key; results are appended as they arrive (any order:
 * nonces are random per blob, offsets are assigned on arrival). A pack that
 * reached its target size closes once all its blobs have arrived, and is
 * saved while newer blobs fill the next one.
 *
 * Randomised assembly (restic 0.18, against the chunk-size fingerprinting
 * of eprint 2025/532; docs/chunker.md says what it buys): each kind has two
 * packs open side by side and every blob goes to one of them by a coin
 * flip, so a pack's size is the sum of a random subset of the chunks queued
 * meanwhile, not of a run of one file's consecutive chunks. At the end, two
 * open packs that fit in one are made one (the smaller one's blobs are
 * re-encrypted under the larger one's key; compression is kept), so a small
 * backup does not split a file's few chunks across two packs and reveal
 * their sizes. The coin is injected: tests pass a fixed one.
 *
 * A pack's size is what its file will hold: a blob counts its raw size
 * while it is being sealed and its sealed size once it arrives, so a pack
 * closes near the target (pack_size) after compression, as restic's do.
 * Counted raw, packs of compressible files closed at a third of it (real
 * files: 6 MB median, twice restic's PUTs on S3; docs/benchmarks.md, s3up).
 *
 * Memory: `add` waits while more than `budget` bytes (counted as above) are
 * held between queueing and their pack's save, so it stays flat whatever the input size;
 * when nothing is being saved that would free room, the fullest open pack
 * closes early. A pack's bytes go to a temporary file as they arrive
 * (spool.ts), not to a buffer per open pack, and is saved from that file, read
 * in pieces (storage/source.ts): no buffer of a whole pack is ever made.
 *
 * Durability order (what makes a kill -9 safe): a pack is saved before any
 * index file names it; index files are saved before the snapshot that needs
 * them. A crash leaves, at worst, packs nobody references.
 *
 * Keys and sealing come from outside: a `PackKeys` provider names each
 * pack's key source and makes each new pack's salt and key (from the master
 * key's pack subkey, or sealed to the repository's public key by a
 * write-only credential: async, so a key is made before the blob that opens
 * a pack is assigned), and a `BlobSealer` (the worker pool) compresses and
 * seals the blobs.
 */
import { NONCE_BYTES, open as openSealed, random, TAG_BYTES } from '../crypto/index.js';
import { EbakError } from '../errors.js';
import { Semaphore } from '../util/semaphore.js';
import { ByteBudget } from '../util/bytebudget.js';
import { decodeEntries, EncodedPack, encodeIndex, EntryBuilder } from './format/indexfile.js';
import { PackSpool } from './spool.js';
import { BLOB_HEAD, giveBlobBuffer, SMALL_BYTES, takeBlobBuffer } from './blobbuffers.js';
import { resealInPlace, sealBlob } from './blob.js';
import { blobAad, BlobType, encodeHeader, encodePrefix, FLAG_ZSTD, KeySource, packKeyFor, PREFIX_BYTES, type BlobEntry } from './format/pack.js';
import type { BlobWriter, PackerStats } from './api.js';
import type { RepoConfig } from './format/config.js';
import type { MasterIndex } from './masterindex.js';
import type { ByteSource } from '../storage/backend.js';
import type { WorkerPool } from './workers.js';

/** A new pack's salt (its prefix's 32-byte field) and key. */
export interface PackKey {
  salt: Buffer;
  key: Buffer;
}

/** Where new packs' keys come from: the key-source byte their prefix and index entry carry, and a fresh salt and key per pack. */
export interface PackKeys {
  readonly source: number;
  /** Synchronous for key source 0; a promise for key source 1 (HPKE). */
  newKey(): PackKey | Promise<PackKey>;
}

/** Pack keys derived from the master key's pack subkey and a random salt per pack (key source 0, or a later generation's, docs/format.md). */
export function masterPackKeys(packMasterKey: Buffer, source: number = KeySource.master): PackKeys {
  return {
    source,
    newKey: () => {
      const salt = random(32);
      return { salt, key: packKeyFor(packMasterKey, salt) };
    },
  };
}

/** Compresses (when it helps) and seals one blob under a pack key; `data` is transferred. */
export type BlobSealer = Pick<WorkerPool, 'seal'>;

/** What the packer needs of the repository: where packs and index files go, and the pack keys. */
export interface PackSink {
  readonly index: MasterIndex;
  readonly config: Pick<RepoConfig, 'chunker' | 'compression_level' | 'pack_size'>;
  readonly packKeys: PackKeys;
  blobId(data: Uint8Array): Buffer;
  /** `pack` is read in pieces, maybe more than once (a retried save), until the promise settles. */
  savePack(id: string, pack: ByteSource, kind: 'data' | 'tree'): Promise<void>;
  saveIndex(payload: Buffer): Promise<string>;
}

interface OpenPack {
  kind: number;
  salt: Buffer;
  key: Buffer;
  prefix: Buffer;
  /** The pack's bytes so far, in a temporary file; blobs are appended as they arrive. */
  spool: PackSpool;
  /** Its blobs so far, 46 bytes each (no object per blob: format/indexfile.ts EntryBuilder). */
  entries: EntryBuilder;
  /** Its size so far (drives closing): sealed bytes of the blobs arrived, raw bytes of those still being sealed. */
  bytes: number;
  /** Blobs still being sealed. */
  outstanding: number;
  closing: boolean;
}

const PACKS_PER_INDEX = 32;
/** Or this many blobs: 32 packs of small files' blobs are ~300,000 entries held until indexed. */
const BLOBS_PER_INDEX = 16_384;
/**
 * Bytes of blobs being sealed at once (queued for the workers or on one),
 * each counted as at least SEALING_BYTES / SEALING: so at most SEALING
 * blobs. The packer's budget alone let ~20,000 small files' blobs queue for
 * the workers at a time (their messages, promises and buffers: ~100 MiB of
 * heap), and a large file's chunks fill it (32 MiB of chunk buffers waiting,
 * most of the main thread's memory at the peak: docs/benchmarks.md, bmem6);
 * a few hundred small blobs, or a few large chunks per worker, keep both
 * workers busy.
 */
const SEALING_BYTES = 8 * 1024 * 1024;
const SEALING = 256;
/** What a blob of `length` bytes holds of the sealing budget. */
const sealingCost = (length: number): number => Math.max(length, SEALING_BYTES / SEALING);
/** Packs of one kind open side by side. */
const SLOTS = 2;
/** How much of a pack folded into another is read at once (foldSmall). */
const FOLD_READ = 1024 * 1024;

/** `add`'s answers when it needs to wait for nothing. */
const QUEUED = Promise.resolve(true);
const KNOWN = Promise.resolve(false);

/** Which of `SLOTS` open packs the next blob goes to: a fair coin from the CSPRNG. */
export type PackChooser = () => number;
const randomSlot: PackChooser = () => random(1)[0]! % SLOTS;

/** Whether a stored blob is moved in a chunk buffer of its own (foldSmall): a body larger than blobbuffers.ts pools. */
const inChunkBuffer = (e: BlobEntry): boolean => e.length - NONCE_BYTES - TAG_BYTES > SMALL_BYTES;
const blobWhat = (e: BlobEntry): string => `blob ${e.id.toString('hex').slice(0, 16)}`;

/** A blob id as a key of `pending`: 32 one-byte characters (a hex key took 64). */
const pendingKey = (id: Buffer): string => id.toString('latin1');

export class Packer implements BlobWriter {
  readonly stats: PackerStats = { dataBlobs: 0, treeBlobs: 0, bytesStored: 0 };
  /** Per kind, the packs taking blobs (a slot is empty once its pack closed). */
  private open = new Map<number, (OpenPack | undefined)[]>();
  /** Packs closed and not yet saved: their save will free room in the budget. */
  private closing = 0;
  private pending = new Set<string>();
  private held = 0;
  private waiters: (() => void)[] = [];
  private tasks = new Set<Promise<void>>();
  private saves = new Semaphore(2);
  private sealing = new ByteBudget(SEALING_BYTES);
  private unindexed: EncodedPack[] = [];
  private unindexedBlobs = 0;
  private failure: unknown;
  private abandoned = false;
  /** Packs whose temporary file is open: closed after their save, or discarded when the packer fails or is abandoned. */
  private live = new Set<OpenPack>();
  /** Keys made for packs about to open (made before the blob that needs one is assigned). */
  private spareKeys: PackKey[] = [];

  constructor(
    private readonly sink: PackSink,
    private readonly sealer: BlobSealer,
    private readonly budget = 32 * 1024 * 1024,
    private readonly choose: PackChooser = randomSlot,
  ) {}

  blobId(data: Uint8Array): Buffer {
    return this.sink.blobId(data);
  }

  /** True when the blob is stored or already queued. */
  has(id: Buffer): boolean {
    return this.sink.index.has(id) || this.pending.has(pendingKey(id));
  }

  /**
   * Queues a blob unless known; resolves once accepted (not yet stored).
   * `data` is transferred to a worker: the caller must not use it afterwards.
   * When a sealing slot is free, the budget has room and the pack chosen is
   * open (a small file's blob, mostly), it is queued at once and the answer
   * is a promise made once for all: no promise, closure or turn of the event
   * loop per blob (they were most of a small file's garbage).
   */
  add(type: number, id: Buffer, data: Buffer, sealed?: (bytes: number) => void): Promise<boolean> {
    if (this.failure !== undefined || this.abandoned) return Promise.reject(this.refusal());
    if (this.has(id)) {
      giveBlobBuffer(data); // a chunk buffer is free again (a no-op for any other buffer)
      return KNOWN;
    }
    this.pending.add(pendingKey(id));
    const permit = this.sealing.tryTake(sealingCost(data.length));
    if (!permit || !this.fits(data.length)) return this.addSlowly(type, id, data, sealed, permit);
    const slot = this.choose();
    if (!this.slotsOf(type)[slot] && this.spareKeys.length === 0) return this.addSlowly(type, id, data, sealed, permit, slot);
    try {
      this.queue(type, slot, id, data, sealed);
    } catch (e) {
      this.sealing.give(sealingCost(data.length));
      return Promise.reject(e);
    }
    return QUEUED;
  }

  /** `add` when the blob (already pending) must wait: for its bytes of the sealing budget (unless `permit`: taken), room in the budget, or a new pack's key; `slot` when already chosen. */
  private async addSlowly(type: number, id: Buffer, data: Buffer, sealed: ((bytes: number) => void) | undefined, permit: boolean, slot?: number): Promise<boolean> {
    if (!permit) await this.sealing.take(sealingCost(data.length));
    try {
      while (!this.fits(data.length)) {
        if (this.closing === 0) this.close(this.fullestOpen()!);
        await new Promise<void>((r) => this.waiters.push(r));
      }
      this.throwIfFailed();
      slot ??= this.choose();
      while (!this.slotsOf(type)[slot] && this.spareKeys.length === 0) {
        const k = this.sink.packKeys.newKey();
        this.spareKeys.push(k instanceof Promise ? await k : k);
      }
      this.throwIfFailed();
      this.queue(type, slot, id, data, sealed);
      return true;
    } catch (e) {
      this.sealing.give(sealingCost(data.length));
      throw e;
    }
  }

  /** Whether `bytes` more may be held now (a failure or a cancellation ends any wait: the caller then throws). */
  private fits(bytes: number): boolean {
    return this.failure !== undefined || this.abandoned || this.held === 0 || this.held + bytes <= this.budget;
  }

  /** Assigns the blob to the pack in `slot` and starts sealing it, its sealing bytes taken (given back once sealed). */
  private queue(type: number, slot: number, id: Buffer, data: Buffer, sealed: ((bytes: number) => void) | undefined): void {
    let pack: OpenPack;
    try {
      pack = this.assign(type, slot, data.length);
    } catch (e) {
      // No temporary file for a new pack: the backup cannot go on.
      this.fail(e);
      throw e; // the caller gives the sealing bytes back
    }
    this.track(this.seal(pack, type, id, data, sealed));
  }

  /** Closes every open pack, waits for all saves, writes the remaining index. */
  async finish(): Promise<void> {
    await this.drain();
    for (const slots of this.open.values()) await this.track(this.foldSmall(slots));
    for (const p of this.openPacks()) this.close(p);
    await this.drain();
    await this.writeIndex();
  }

  /**
   * Stops after a cancellation: no further blob is accepted and no open pack
   * saved; returns once the seals and saves in flight have settled, and
   * indexes the packs that were saved, so the stored index agrees with the
   * loaded one (a later backup in this process may reuse those blobs).
   */
  async abandon(): Promise<void> {
    this.abandoned = true;
    this.open.clear();
    this.waiters.splice(0).forEach((w) => w());
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    await this.discard();
    await this.writeIndex();
  }

  private async drain(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    if (this.failure !== undefined) await this.discard(); // every temporary file closed before the failure is told
    this.throwIfFailed();
  }

  private slotsOf(kind: number): (OpenPack | undefined)[] {
    return this.open.get(kind) ?? this.open.set(kind, new Array(SLOTS).fill(undefined)).get(kind)!;
  }

  /** Assigns a blob to the pack in `slot`, opening one (with a key made beforehand) when the slot is empty. */
  private assign(kind: number, slot: number, bytes: number): OpenPack {
    const slots = this.slotsOf(kind);
    const p = (slots[slot] ??= this.newPack(kind, this.spareKeys.pop()!));
    p.bytes += bytes;
    p.outstanding++;
    this.held += bytes;
    if (p.bytes >= this.sink.config.pack_size) this.close(p);
    return p;
  }

  private async seal(pack: OpenPack, type: number, id: Buffer, data: Buffer, told: ((bytes: number) => void) | undefined): Promise<void> {
    const rawLength = data.length;
    let result;
    try {
      result = await this.sealer.seal(pack.key, type, id, data, this.sink.config.compression_level);
    } finally {
      this.sealing.give(sealingCost(rawLength));
    }
    const { data: sealed, compressed, inPlace } = result;
    this.append(pack, { type, flags: compressed ? FLAG_ZSTD : 0, id, rawLength }, sealed, inPlace ? () => giveBlobBuffer(sealed) : undefined);
    told?.(sealed.length);
    pack.outstanding--;
    pack.bytes += sealed.length - rawLength;
    this.held += sealed.length - rawLength; // the room compression made is taken at the next save's wake-up, not by waking every waiter per blob
    if (type === BlobType.tree) this.stats.treeBlobs++;
    else this.stats.dataBlobs++;
    if (!pack.closing && !this.abandoned && pack.bytes >= this.sink.config.pack_size) this.close(pack); // saves it if nothing is outstanding
    else if (pack.closing && pack.outstanding === 0 && !this.abandoned) this.track(this.save(pack));
  }

  private newPack(kind: number, { salt, key }: PackKey): OpenPack {
    const prefix = encodePrefix(kind, this.sink.packKeys.source, salt);
    const spool = new PackSpool();
    spool.append(prefix);
    const p: OpenPack = { kind, salt, key, prefix, spool, entries: new EntryBuilder(), bytes: 0, outstanding: 0, closing: false };
    this.live.add(p);
    return p;
  }

  private openPacks(): OpenPack[] {
    return [...this.open.values()].flatMap((slots) => slots.filter((p): p is OpenPack => p !== undefined));
  }

  private fullestOpen(): OpenPack | undefined {
    return this.openPacks().sort((a, b) => b.bytes - a.bytes)[0];
  }

  /**
   * At the end: two open packs of a kind that fit in one pack (target plus
   * one largest chunk, as large as a pack gets anyway) become one. Every
   * blob has arrived (finish drained the seals): the smaller pack's blobs are
   * opened under its key and sealed under the larger one's, the compressed
   * body kept, so no pack of a small backup holds only a few of one file's chunks.
   */
  private async foldSmall(slots: (OpenPack | undefined)[]): Promise<void> {
    const [a, b] = slots;
    if (!a || !b || a.spool.size + b.spool.size - PREFIX_BYTES > this.sink.config.pack_size + this.sink.config.chunker.max) return;
    const [into, from] = a.spool.size >= b.spool.size ? [a, b] : [b, a];
    slots[slots.indexOf(from)] = undefined;
    await from.spool.flush();
    const entries = decodeEntries(from.entries.bytes());
    for (let i = 0; i < entries.length; ) {
      if (inChunkBuffer(entries[i]!)) await this.moveInPlace(from, into, entries[i++]!);
      else i = await this.moveRun(from, into, entries, i);
    }
    into.bytes += from.bytes;
    await this.dispose(from);
  }

  /**
   * A large blob of `from` into `into`: read into a chunk buffer, opened and
   * sealed again where it lies, the buffer kept for a later chunk once
   * written. A buffer per step (read, opened, sealed) of every large blob
   * folded was the peak of a large file's backup, at its very end (~20 MiB
   * of garbage: docs/benchmarks.md, bmem6).
   */
  private async moveInPlace(from: OpenPack, into: OpenPack, e: BlobEntry): Promise<void> {
    const body = takeBlobBuffer(e.length - NONCE_BYTES - TAG_BYTES);
    const sealed = Buffer.from(body.buffer, body.byteOffset - BLOB_HEAD, e.length);
    await from.spool.readAt(e.offset, sealed);
    this.append(into, e, resealInPlace(from.key, into.key, e, sealed, blobWhat(e)), () => giveBlobBuffer(body));
  }

  /** The small blobs of `from` from `entries[i]` on, read at once (up to FOLD_READ bytes: small files' packs hold thousands), into `into`; returns the index after them. */
  private async moveRun(from: OpenPack, into: OpenPack, entries: readonly BlobEntry[], i: number): Promise<number> {
    const start = entries[i]!.offset;
    let j = i + 1;
    while (j < entries.length && !inChunkBuffer(entries[j]!) && entries[j]!.offset + entries[j]!.length - start <= FOLD_READ) j++;
    const last = entries[j - 1]!;
    const run = Buffer.allocUnsafe(last.offset + last.length - start);
    await from.spool.readAt(start, run);
    for (; i < j; i++) {
      const e = entries[i]!;
      const body = openSealed(from.key, run.subarray(e.offset - start, e.offset - start + e.length), blobAad(e.type, e.flags, e.rawLength, e.id), blobWhat(e));
      // sealBlob returns a new buffer: nothing appended points into `run`.
      this.append(into, e, sealBlob(into.key, e.type, e.id, e.rawLength, body, (e.flags & FLAG_ZSTD) !== 0));
    }
    return j;
  }

  /** Copies a sealed blob into the pack at its current end, recording its entry; `written` is called once `sealed` is no longer needed. */
  private append(pack: OpenPack, e: Omit<BlobEntry, 'offset' | 'length'>, sealed: Buffer, written?: () => void): void {
    pack.entries.push(e.type, e.flags, e.id, pack.spool.size, sealed.length, e.rawLength);
    pack.spool.append(sealed, written);
  }

  /** No new blobs go to `p`; it is saved once its last blob has arrived. */
  private close(p: OpenPack): void {
    const slots = this.open.get(p.kind);
    const slot = slots?.indexOf(p) ?? -1;
    if (slot >= 0) slots![slot] = undefined;
    p.closing = true;
    this.closing++;
    if (p.outstanding === 0) this.track(this.save(p));
  }

  private async save(p: OpenPack): Promise<void> {
    try {
      await this.saves.run(() => this.store(p));
    } finally {
      this.closing--;
      this.release(p.bytes);
    }
  }

  private async store(p: OpenPack): Promise<void> {
    const entries = p.entries.bytes();
    // Objects for the header now and for the index after the save, not kept across the save.
    p.spool.append(encodeHeader(p.key, p.prefix, decodeEntries(entries)));
    await p.spool.flush();
    const id = p.spool.digest();
    try {
      await this.sink.savePack(id, p.spool.source(), p.kind === BlobType.tree ? 'tree' : 'data');
      this.stats.bytesStored += p.spool.size;
    } finally {
      await this.dispose(p);
    }
    const keySource = this.sink.packKeys.source;
    const blobs = decodeEntries(entries);
    this.sink.index.addPack({ id, salt: p.salt, kind: p.kind, keySource }, blobs);
    for (const e of blobs) this.pending.delete(pendingKey(e.id));
    const indexed = new EncodedPack(Buffer.from(id, 'hex'), p.salt, p.kind, keySource, entries);
    this.unindexed.push(indexed);
    this.unindexedBlobs += indexed.blobCount;
    if (this.unindexed.length >= PACKS_PER_INDEX || this.unindexedBlobs >= BLOBS_PER_INDEX) await this.writeIndex();
  }

  /** Closes a pack's temporary file (saved, folded into another, or given up). */
  private async dispose(p: OpenPack): Promise<void> {
    this.live.delete(p);
    await p.spool.close();
  }

  /** Gives up every pack not saved yet (after a failure or a cancellation: none of them will be). */
  private async discard(): Promise<void> {
    await Promise.allSettled([...this.live].map((p) => this.dispose(p)));
  }

  private release(bytes: number): void {
    this.held -= bytes;
    this.waiters.splice(0).forEach((w) => w());
  }

  private track(p: Promise<void>): Promise<void> {
    const t: Promise<void> = p.then(() => void this.tasks.delete(t), (e: unknown) => {
      this.fail(e);
      this.tasks.delete(t);
    });
    this.tasks.add(t);
    return t;
  }

  /** The first failure stops the packer: waiters wake to throw it, and no open pack will be saved. */
  private fail(e: unknown): void {
    this.failure ??= e;
    this.waiters.splice(0).forEach((w) => w());
    void this.discard();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined || this.abandoned) throw this.refusal();
  }

  /** Why no blob is accepted any more: the first failure, or the cancellation. */
  private refusal(): unknown {
    return this.failure !== undefined ? this.failure : new EbakError('CANCELLED', 'the backup was cancelled');
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed.splice(0);
    this.unindexedBlobs = 0;
    const payload = encodeIndex({ packs, superseded: [] });
    try {
      await this.sink.saveIndex(payload);
    } catch (e) {
      this.unindexed.unshift(...packs);
      this.unindexedBlobs += packs.reduce((n, p) => n + p.blobCount, 0);
      throw e;
    }
    this.stats.bytesStored += payload.length;
  }
}
