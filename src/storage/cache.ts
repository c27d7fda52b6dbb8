/**
 * The local metadata cache (restic's internal/backend/cache): a wrapper
 * around any Backend that keeps snapshots, index files and tree packs on
 * local disk, so what every run reads again (the index, the snapshot list,
 * the parent snapshot's trees) is downloaded once per machine, not once per
 * run: an unchanged re-backup against S3 then GETs only keys and config.
 *
 * What is kept: objects of type `snapshots` and `index`, and `data` packs
 * named as tree packs (`SaveOptions.packKind` on save, `Handle.packKind` on
 * load). Saves are written through. A load that misses fetches the whole
 * object once (a ranged read of a tree blob included) and later ranges are
 * read from the cached file.
 *
 * The cache holds the bytes the backend holds (ciphertext: nothing in it is
 * readable without the key), and it is verified on read: object names are
 * the SHA-256 of their bytes, so a cached file that does not hash to its
 * name is discarded and fetched again. A file is hashed once per process;
 * ranges of it are then read without hashing (every blob read is still
 * authenticated by the repository), through a descriptor kept open for the
 * next range (fdcache.ts: a re-backup reads every parent tree, most from a
 * few packs, and an open and close per tree blob cost more than its read). Objects removed through the cache, and
 * objects a complete listing shows gone from the backend, are dropped.
 *
 * The cache is an optimisation: a cache read or write that fails falls back
 * to the backend and never fails a command. It is idle until `attach` names
 * the repository's folder: the repository id is inside the encrypted config,
 * known once the repository is open (restic's UseCache). Layout in
 * docs/format.md, "Local cache".
 */
import { createHash, randomBytes } from 'node:crypto';
import { openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EbakError, isEbakError } from '../errors.js';
import { checkName, describe, type ByteRange, type CallOptions, type FileInfo, type FileType, type Handle, type SaveData, type SaveOptions, type LoadOptions } from './backend.js';
import { FdCache } from './fdcache.js';
import { ForwardingBackend } from './forward.js';
import { writeTo } from './source.js';

/** The file that tells backup tools a folder is a cache (https://bford.info/cachedir/). */
const TAG = 'CACHEDIR.TAG';
const TAG_TEXT = 'Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by ebak.\n';

/** The types whose objects may be cached; `data` only for tree packs. */
const CACHED_TYPES: ReadonlySet<FileType> = new Set(['snapshots', 'index', 'data']);

function isMetadata(type: FileType, packKind: 'data' | 'tree' | undefined): boolean {
  return type === 'snapshots' || type === 'index' || (type === 'data' && packKind === 'tree');
}

export class CacheBackend extends ForwardingBackend {
  private dir: string | undefined;
  /** Cached files hashed in this process and found to match their names. */
  private readonly verified = new Set<string>();
  /** Descriptors of cached tree packs, kept between ranged reads. */
  private readonly fds = new FdCache((h) => openSync(this.pathOf(h, 'tree')!, 'r'));

  /** Caches from now on under `root`/`repoId` (a hex id), and tags `root` as a cache. */
  async attach(root: string, repoId: string): Promise<void> {
    checkName(repoId);
    this.dir = join(root, repoId);
    await mkdir(root, { recursive: true }).then(() => writeFile(join(root, TAG), TAG_TEXT, { flag: 'wx' })).catch(() => {});
  }

  override async save(h: Handle, data: SaveData, opts?: SaveOptions): Promise<void> {
    await super.save(h, data, opts);
    const path = this.pathOf(h, opts?.packKind);
    if (path !== undefined) await this.store(path, h, data);
  }

  override async load(h: Handle, range?: ByteRange, opts?: LoadOptions): Promise<Buffer> {
    const path = this.pathOf(h, h.packKind);
    if (path === undefined) return super.load(h, range, opts);
    const hit = await this.readCached(path, h, range);
    if (hit !== undefined) return hit;
    const bytes = await super.load(h, undefined, opts);
    await this.store(path, h, bytes);
    return range ? within(bytes, range, h) : bytes;
  }

  override async remove(h: Handle, opts?: CallOptions): Promise<void> {
    await super.remove(h, opts);
    const path = this.pathOf(h, 'tree');
    if (path !== undefined) await this.drop(path, h);
  }

  /** A listing that runs to its end also drops the cached files of objects no longer in the backend. */
  override async *list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo> {
    if (this.dir === undefined || !CACHED_TYPES.has(type)) return yield* super.list(type, opts);
    const present = new Set<string>();
    for await (const f of super.list(type, opts)) {
      present.add(f.name);
      yield f;
    }
    await this.expire(type, present);
  }

  override close(): Promise<void> {
    this.fds.closeAll();
    return super.close();
  }

  private pathOf(h: Handle, packKind: 'data' | 'tree' | undefined): string | undefined {
    return this.dir !== undefined && isMetadata(h.type, packKind) ? join(this.dir, h.type, h.name) : undefined;
  }

  /** The cached bytes (or range), or undefined on a miss; a file that does not hash to its name is removed. */
  private async readCached(path: string, h: Handle, range: ByteRange | undefined): Promise<Buffer | undefined> {
    try {
      if (range && this.verified.has(path)) return this.readRange(h, range);
      const bytes = await readFile(path);
      if (!this.verified.has(path) && !matchesName(bytes, h.name)) {
        await this.drop(path, h);
        return undefined;
      }
      this.verified.add(path);
      return range ? within(bytes, range, h) : bytes;
    } catch (e) {
      if (isEbakError(e)) throw e;
      return undefined;
    }
  }

  /**
   * Writes `data` atomically (temporary file, then rename) when it hashes to
   * its name, hashed as it is written (a tree pack comes as a source, read in
   * pieces); failures are ignored.
   */
  private async store(path: string, h: Handle, data: SaveData): Promise<void> {
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await mkdir(join(path, '..'), { recursive: true });
      const hash = createHash('sha256');
      const fh = await open(tmp, 'wx');
      try {
        await writeTo(fh, data, (piece) => hash.update(piece));
      } finally {
        await fh.close();
      }
      if (hash.digest('hex') !== h.name) throw new Error('not the bytes its name says');
      await rename(tmp, path);
      this.verified.add(path);
    } catch {
      await rm(tmp, { force: true }).catch(() => {});
    }
  }

  private async drop(path: string, h: Handle): Promise<void> {
    this.verified.delete(path);
    this.fds.forget(h);
    await rm(path, { force: true }).catch(() => {});
  }

  private async expire(type: FileType, present: ReadonlySet<string>): Promise<void> {
    const dir = join(this.dir!, type);
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) if (!present.has(n)) await this.drop(join(dir, n), { type, name: n });
  }

  /** One synchronous ranged read of a cached file (a tree blob: a libuv round trip would cost more than the read). */
  private readRange(h: Handle, range: ByteRange): Buffer {
    const fd = this.fds.open(h);
    try {
      const buf = Buffer.allocUnsafe(range.length);
      const n = readSync(fd, buf, 0, range.length, range.offset);
      if (n !== range.length) throw beyondEnd(h);
      return buf;
    } finally {
      this.fds.release(h, fd);
    }
  }
}

function matchesName(data: Uint8Array, name: string): boolean {
  return createHash('sha256').update(data).digest('hex') === name;
}

/** `range` of `bytes`; CORRUPT when it lies beyond the end, as the Backend contract says. */
function within(bytes: Buffer, range: ByteRange, h: Handle): Buffer {
  if (range.offset + range.length > bytes.length) throw beyondEnd(h);
  return bytes.subarray(range.offset, range.offset + range.length);
}

function beyondEnd(h: Handle): EbakError {
  return new EbakError('CORRUPT', `${describe(h)}: the range read lies beyond the object's end`);
}
