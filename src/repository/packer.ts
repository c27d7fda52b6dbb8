/**
 * Writes new blobs into packs. Compression runs on the worker pool while the
 * caller keeps chunking; sealing and appending happen on the main thread as
 * results arrive. Memory is bounded: `add` waits while more than
 * `maxInFlight` bytes are queued, and at most one open pack per kind exists.
 *
 * Durability order (what makes a kill -9 safe): a pack is saved before any
 * index file names it; index files are saved before the snapshot that needs
 * them. A crash leaves, at worst, packs nobody references.
 */
import { random } from '../crypto/index.js';
import { EbakError } from '../errors.js';
import { sealBlob } from './blob.js';
import { encodeIndex, type IndexedPack } from './format/indexfile.js';
import { BlobType, encodePrefix, encodeHeader, KeySource, objectId, packKeyFor, PREFIX_BYTES, type BlobEntry } from './format/pack.js';
import type { Repository } from './repository.js';
import type { WorkerPool } from './workers.js';

interface OpenPack {
  kind: number;
  salt: Buffer;
  key: Buffer;
  prefix: Buffer;
  parts: Buffer[];
  entries: BlobEntry[];
  size: number;
}

export interface PackerStats {
  dataBlobs: number;
  treeBlobs: number;
  /** Bytes written to storage (packs and index files). */
  bytesStored: number;
}

const PACKS_PER_INDEX = 32;

export class Packer {
  readonly stats: PackerStats = { dataBlobs: 0, treeBlobs: 0, bytesStored: 0 };
  private open = new Map<number, OpenPack>();
  private pending = new Set<string>();
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private tasks = new Set<Promise<void>>();
  private unindexed: IndexedPack[] = [];
  private failure: unknown;

  constructor(
    private readonly repo: Repository,
    private readonly pool: WorkerPool,
    private readonly maxInFlight = 64 * 1024 * 1024,
  ) {}

  /** True when the blob is stored or already queued. */
  has(id: Buffer): boolean {
    return this.repo.index.has(id) || this.pending.has(id.toString('hex'));
  }

  /** Queues a blob unless known. Resolves once accepted (not yet stored). */
  async add(type: number, id: Buffer, data: Buffer): Promise<boolean> {
    this.throwIfFailed();
    if (this.has(id)) return false;
    this.pending.add(id.toString('hex'));
    while (this.inFlight > 0 && this.inFlight + data.length > this.maxInFlight) await new Promise<void>((r) => this.waiters.push(r));
    this.inFlight += data.length;
    this.track(this.compressAndAppend(type, id, data));
    return true;
  }

  /** Seals every open pack, waits for all saves, writes the remaining index. */
  async finish(): Promise<void> {
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    this.throwIfFailed();
    for (const kind of [...this.open.keys()]) this.track(this.savePack(kind));
    while (this.tasks.size > 0) await Promise.allSettled([...this.tasks]);
    this.throwIfFailed();
    await this.writeIndex();
  }

  private track(p: Promise<void>): void {
    const t = p.catch((e) => {
      this.failure ??= e;
    }).finally(() => this.tasks.delete(t));
    this.tasks.add(t);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private async compressAndAppend(type: number, id: Buffer, data: Buffer): Promise<void> {
    const level = this.repo.config.compression_level;
    const size = data.length;
    try {
      const packed = await this.pool.compress(data, level);
      await this.append(type, id, size, packed ?? data, packed !== undefined);
    } finally {
      this.inFlight -= size;
      this.waiters.splice(0).forEach((w) => w());
    }
  }

  private async append(type: number, id: Buffer, rawLength: number, body: Buffer, compressed: boolean): Promise<void> {
    const pack = this.packFor(type);
    const sealed = sealBlob(pack.key, type, id, rawLength, body, compressed);
    pack.entries.push({ type, flags: compressed ? 1 : 0, id, offset: pack.size, length: sealed.length, rawLength });
    pack.parts.push(sealed);
    pack.size += sealed.length;
    if (type === BlobType.tree) this.stats.treeBlobs++;
    else this.stats.dataBlobs++;
    if (pack.size >= this.repo.config.pack_size) await this.savePack(type);
  }

  private packFor(kind: number): OpenPack {
    let p = this.open.get(kind);
    if (!p) {
      const salt = random(32);
      const prefix = encodePrefix(kind, KeySource.master, salt);
      p = { kind, salt, key: packKeyFor(this.repo.keys.pack, salt), prefix, parts: [prefix], entries: [], size: PREFIX_BYTES };
      this.open.set(kind, p);
    }
    return p;
  }

  private async savePack(kind: number): Promise<void> {
    const p = this.open.get(kind);
    if (!p) return;
    this.open.delete(kind);
    p.parts.push(encodeHeader(p.key, p.prefix, p.entries));
    const bytes = Buffer.concat(p.parts);
    p.parts = [];
    const id = objectId(bytes);
    await this.repo.backend.save({ type: 'data', name: id }, bytes, { packKind: kind === BlobType.tree ? 'tree' : 'data' });
    this.stats.bytesStored += bytes.length;
    const info = { id, salt: p.salt, kind, keySource: KeySource.master };
    this.repo.index.addPack(info, p.entries);
    for (const e of p.entries) this.pending.delete(e.id.toString('hex'));
    this.unindexed.push({ id: Buffer.from(id, 'hex'), salt: p.salt, kind, keySource: KeySource.master, blobs: p.entries });
    if (this.unindexed.length >= PACKS_PER_INDEX) await this.writeIndex();
  }

  private async writeIndex(): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed.splice(0);
    try {
      const payload = encodeIndex({ packs, superseded: [] });
      await this.repo.saveObject('index', payload);
      this.stats.bytesStored += payload.length;
    } catch (e) {
      this.unindexed.unshift(...packs);
      throw e instanceof EbakError ? e : new EbakError('IO', `writing an index file failed: ${(e as Error).message}`, { cause: e });
    }
  }
}
