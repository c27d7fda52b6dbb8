/**
 * Local-directory backend: the default. Layout as docs/format.md says:
 * `config`, `keys/<id>`, `snapshots/<id>`, `index/<id>`, `locks/<id>`,
 * `retention/<id>`, `data/<first 2 hex of id>/<id>` (a folder a repository
 * made before its type existed is created by the first save into it).
 *
 * Atomicity: every save writes a temporary file in the same directory,
 * fsyncs it, renames it into place and fsyncs the directory, so a crash
 * leaves either the whole object or none (never a partial one).
 *
 * File system calls are short and not interrupted: an aborted signal
 * (CallOptions) refuses each call before it starts.
 */
import { constants, openSync, read, readSync } from 'node:fs';
import { FdCache } from './fdcache.js';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EbakError } from '../errors.js';
import { makeDirs, mapIoError, wrapIo } from '../util/fs.js';
import { checkName, describe, FILE_TYPES, type Backend, type ByteRange, type CallOptions, type Capabilities, type FileInfo, type FileType, type Handle, type SaveData, type LoadOptions } from './backend.js';
import { checkCancelled } from './cancel.js';
import { writeTo } from './source.js';

export class LocalBackend implements Backend {
  readonly location: string;
  readonly capabilities: Capabilities = { appendOnly: false, objectLock: false, storageClasses: false, archiveRestore: false };

  /** Pack files stay open between range reads: a restore reads a pack's blobs one file at a time. */
  private readonly packFds = new FdCache((h) => openSync(this.path(h), 'r'));

  constructor(readonly root: string) {
    this.location = root;
  }

  async create(opts?: CallOptions): Promise<void> {
    checkCancelled(opts?.signal, () => `create repository directory ${this.root}`);
    await wrapIo(`create repository directory ${this.root}`, async () => {
      for (const t of FILE_TYPES) if (t !== 'config') await makeDirs(join(this.root, t), 0o700);
      const hex = '0123456789abcdef';
      for (const a of hex) for (const b of hex) await makeDirs(join(this.root, 'data', a + b), 0o700);
    });
  }

  async isRepository(opts?: CallOptions): Promise<boolean> {
    checkCancelled(opts?.signal, () => 'read config');
    return exists(join(this.root, 'config'));
  }

  path(h: Handle): string {
    if (h.type === 'config') return join(this.root, 'config');
    checkName(h.name);
    if (h.type === 'data') return join(this.root, 'data', h.name.slice(0, 2), h.name);
    return join(this.root, h.type, h.name);
  }

  /** A source (a pack in its temporary file) is copied a piece at a time: no buffer of the whole object. */
  async save(h: Handle, data: SaveData, opts?: CallOptions): Promise<void> {
    checkCancelled(opts?.signal, () => `write ${describe(h)}`);
    const final = this.path(h);
    const dir = final.slice(0, final.lastIndexOf('/'));
    const tmp = `${final}.tmp-${randomBytes(6).toString('hex')}`;
    await wrapIo(`write ${describe(h)}`, async () => {
      const fh = await openNew(tmp, h.type === 'retention' ? dir : undefined);
      try {
        await writeTo(fh, data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, final);
      await syncDir(dir);
    }).catch(async (e) => {
      await unlink(tmp).catch(() => undefined);
      throw e;
    });
  }

  async load(h: Handle, range?: ByteRange, opts?: LoadOptions): Promise<Buffer> {
    checkCancelled(opts?.signal, () => `read ${describe(h)}`);
    if (range) return this.loadRange(h, range, opts?.into);
    const fh = await openForRead(this.path(h), h);
    try {
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  /**
   * Small range reads (a tree, a blob) are synchronous: three libuv round
   * trips per blob cost more than the reads themselves. A large one (a
   * restore's run of a pack's blobs) goes to the thread pool, so several
   * are read at once from a cold disk while the main thread goes on. The
   * bytes go into `into` when it is given and large enough, else into a
   * buffer of their own (owned, not pooled, so it can be transferred to a worker).
   */
  private async loadRange(h: Handle, range: ByteRange, into: Buffer | undefined): Promise<Buffer> {
    let fd: number;
    try {
      fd = this.packFds.open(h);
    } catch (e) {
      throw mapIoError(e, describe(h));
    }
    try {
      const buf = into !== undefined && into.length >= range.length ? into.subarray(0, range.length) : Buffer.allocUnsafeSlow(range.length);
      for (let done = 0; done < range.length; ) {
        const n = range.length < ASYNC_READ ? readSync(fd, buf, done, range.length - done, range.offset + done) : await readAt(fd, buf, done, range.offset + done);
        if (n === 0) throw new EbakError('CORRUPT', `${describe(h)}: range ${range.offset}+${range.length} lies beyond the end of the object`);
        done += n;
      }
      return buf;
    } catch (e) {
      throw mapIoError(e, describe(h));
    } finally {
      this.packFds.release(h, fd);
    }
  }

  async stat(h: Handle, opts?: CallOptions): Promise<FileInfo> {
    checkCancelled(opts?.signal, () => `stat ${describe(h)}`);
    try {
      const s = await stat(this.path(h));
      return { name: h.name, size: s.size };
    } catch (e) {
      throw mapIoError(e, describe(h));
    }
  }

  async *list(type: FileType, opts?: CallOptions): AsyncIterable<FileInfo> {
    checkCancelled(opts?.signal, () => `list ${type}`);
    if (type === 'config') {
      if (await exists(join(this.root, 'config'))) yield await this.stat({ type, name: 'config' });
      return;
    }
    const dirs = type === 'data' ? await subdirs(join(this.root, 'data')) : [join(this.root, type)];
    for (const dir of dirs) {
      for (const name of await readdirOrEmpty(dir)) {
        if (name.includes('.tmp-')) continue; // an interrupted save; never a valid object
        const s = await stat(join(dir, name)).catch(() => undefined);
        if (s?.isFile()) yield { name, size: s.size };
      }
    }
  }

  async remove(h: Handle, opts?: CallOptions): Promise<void> {
    checkCancelled(opts?.signal, () => `delete ${describe(h)}`);
    this.packFds.forget(h);
    await rm(this.path(h), { force: true });
  }

  async close(): Promise<void> {
    this.packFds.closeAll();
  }
}

async function openForRead(path: string, h: Handle) {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw mapIoError(e, describe(h));
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw mapIoError(e, `list ${dir}`);
  }
}

async function subdirs(dir: string): Promise<string[]> {
  return (await readdirOrEmpty(dir)).map((n) => join(dir, n));
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates `tmp` for writing; `makeDir`, when given and missing, is made first (`retention/` of a repository older than that type). */
async function openNew(tmp: string, makeDir: string | undefined) {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
  try {
    return await open(tmp, flags, 0o600);
  } catch (e) {
    if (makeDir === undefined || (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await mkdir(makeDir, { mode: 0o700 }).catch((m: NodeJS.ErrnoException) => {
      if (m.code !== 'EEXIST') throw m;
    });
    return open(tmp, flags, 0o600);
  }
}

/** Range reads from this size on go to the thread pool (loadRange). */
const ASYNC_READ = 256 * 1024;

function readAt(fd: number, buf: Buffer, off: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buf, off, buf.length - off, position, (e, n) => (e ? reject(e) : resolve(n))));
}
