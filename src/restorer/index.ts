/**
 * Restore: recreates a snapshot's tree under a target directory. Safety
 * rules (docs/format.md, "Restore safety"): names are single components
 * (checked when trees are decoded); nothing is ever written through a
 * symlink (files open with O_NOFOLLOW, directories are checked with lstat);
 * symlinks whose target would resolve outside the restore target are
 * refused unless the caller allows them. Every blob is authenticated and its
 * id re-checked (in a worker thread) before a byte of it is written.
 */
import { closeSync, constants, fchmodSync, fchownSync, ftruncateSync, futimesSync, openSync, rmSync, writeSync } from 'node:fs';
import { chown, lchown, link, lstat, lutimes, mkdir, symlink, utimes, chmod } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { EbakError, isEbakError, type ErrorCode } from '../errors.js';
import { mapIoError } from '../util/fs.js';
import { BlobType } from '../repository/format/pack.js';
import type { Snapshot } from '../repository/format/snapshot.js';
import type { TreeNode } from '../repository/format/tree.js';
import type { Repository } from '../repository/repository.js';
import type { WorkerPool } from '../repository/workers.js';
import { Semaphore } from '../util/semaphore.js';

export interface RestoreOptions {
  target: string;
  /** Snapshot paths ("/work/a.txt", as `ebak ls` prints them) to restore; default all. */
  includes?: string[];
  allowOutsideSymlinks?: boolean;
  onWarning?: (msg: string) => void;
  onProgress?: (p: { files: number; bytes: number }) => void;
  /** While archived data packs are being made readable (Backend.prepareRead). */
  onPrepare?: (ready: number, total: number) => void;
}

export interface RestoreResult {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  errors: number;
}

export async function restore(repo: Repository, pool: WorkerPool, snapshot: Snapshot, opts: RestoreOptions): Promise<RestoreResult> {
  const root = resolve(opts.target);
  await mkdir(root, { recursive: true }).catch((e) => { throw mapIoError(e, `create ${root}`); });
  const r = new Restorer(repo, pool, root, opts);
  // Archive storage: every pack this restore reads made readable first (waits may be hours).
  const prepare = repo.backend.prepareRead?.bind(repo.backend);
  if (prepare) await prepare([...(await r.neededPacks(snapshot.tree, ''))].map((name) => ({ type: 'data', name })), opts.onPrepare);
  await r.restoreDir(snapshot.tree, root, '');
  return r.result;
}

const isRoot = process.getuid?.() === 0;
/** Failures of one file's repository data: reported per file, the restore goes on. */
const DATA_ERRORS = new Set<ErrorCode>(['AUTH_FAILED', 'CORRUPT', 'NOT_FOUND']);

class Restorer {
  readonly result: RestoreResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, errors: 0 };
  private readonly files = new Semaphore(8);
  private readonly blobs = new Semaphore(8);
  private readonly hardlinks = new Map<string, Promise<string | undefined>>();
  private readonly includes: string[] | undefined;
  /** Trees already loaded by neededPacks, each handed to restoreDir once. */
  private readonly trees = new Map<string, TreeNode[]>();

  constructor(private readonly repo: Repository, private readonly pool: WorkerPool, private readonly root: string, private readonly opts: RestoreOptions) {
    this.includes = opts.includes?.map((p) => '/' + p.split('/').filter(Boolean).join('/'));
  }

  /** The data packs holding the wanted files under `treeId` (blobs missing from the index are reported later). */
  async neededPacks(treeId: string, rel: string, into = new Set<string>()): Promise<Set<string>> {
    const nodes = await this.repo.loadTree(treeId);
    this.trees.set(treeId, nodes);
    for (const n of nodes) {
      const nodeRel = `${rel}/${n.name}`;
      if (!this.wanted(nodeRel)) continue;
      if (n.type === 'dir') await this.neededPacks(n.subtree!, nodeRel, into);
      for (const hex of n.content ?? []) {
        const loc = this.repo.index.lookup(Buffer.from(hex, 'hex'));
        if (loc) into.add(loc.pack.id);
      }
    }
    return into;
  }

  /** Restores a directory's entries; its own mode and times are set after its children. */
  async restoreDir(treeId: string, dir: string, rel: string): Promise<void> {
    const nodes = this.trees.get(treeId) ?? (await this.repo.loadTree(treeId));
    this.trees.delete(treeId);
    const files: Promise<void>[] = [];
    try {
      for (const n of nodes) {
        const path = join(dir, n.name);
        const nodeRel = `${rel}/${n.name}`;
        if (!this.wanted(nodeRel)) continue;
        if (n.type === 'dir') {
          await this.makeDir(path);
          await this.restoreDir(n.subtree!, path, nodeRel);
          await this.setMeta(path, n);
          this.result.dirs++;
        } else if (n.type === 'symlink') {
          await this.makeSymlink(path, n);
        } else {
          const file = this.files.run(() => this.restoreFile(path, n));
          file.catch(() => undefined); // observed now; settleAll below reports it
          files.push(file);
        }
      }
    } finally {
      // Files run while later subdirectories are restored: settle every one
      // (a rejection left unobserved during those awaits would crash the process).
      await settleAll(files);
    }
  }

  /** Included if it lies on the way to, or under, an include path. */
  private wanted(rel: string): boolean {
    if (!this.includes) return true;
    return this.includes.some((inc) => inc === rel || inc.startsWith(rel + '/') || rel.startsWith(inc + '/'));
  }

  private async makeDir(path: string): Promise<void> {
    try {
      await mkdir(path, { mode: 0o700 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw mapIoError(e, `create ${path}`);
      const st = await lstat(path);
      if (!st.isDirectory()) throw new EbakError('UNSAFE_PATH', `${path} exists and is not a directory (a symlink is never followed); remove it or restore elsewhere`);
    }
  }

  private async makeSymlink(path: string, n: TreeNode): Promise<void> {
    const target = n.target!;
    if (!this.opts.allowOutsideSymlinks && !staysInside(this.root, path, target)) {
      this.error(`${path}: refusing symlink to ${JSON.stringify(target)}, which could point outside the restore target (use --allow-outside-symlinks to restore it)`);
      return;
    }
    try {
      await symlink(target, path);
      if (isRoot) await lchown(path, n.uid, n.gid);
      await lutimes(path, nsToDate(n.mtime), nsToDate(n.mtime));
      this.result.symlinks++;
    } catch (e) {
      this.error(mapIoError(e, `create symlink ${path}`).message);
    }
  }

  private async restoreFile(path: string, n: TreeNode): Promise<void> {
    if (n.links > 1) {
      const key = `${n.dev}:${n.inode}`;
      const first = this.hardlinks.get(key);
      if (first) {
        const existing = await first;
        if (existing) return this.linkTo(existing, path);
      }
      let done!: (p: string | undefined) => void;
      this.hardlinks.set(key, new Promise((r) => (done = r)));
      let ok = false;
      try {
        ok = await this.writeFileOrReport(path, n);
      } finally {
        done(ok ? path : undefined);
      }
      return;
    }
    await this.writeFileOrReport(path, n);
  }

  /**
   * Writes one file (writeFile removes a file it could not complete, so a
   * file on disk is always complete and authentic). Damaged or missing repository data
   * is reported for this file and the restore goes on (exit code 3); anything
   * else (disk full, unsafe path) stops the restore.
   */
  private async writeFileOrReport(path: string, n: TreeNode): Promise<boolean> {
    try {
      await this.writeFile(path, n);
      return true;
    } catch (e) {
      if (!isEbakError(e) || !DATA_ERRORS.has(e.code)) throw e;
      this.error(e.message.startsWith(path) ? e.message : `${path}: ${e.message}`);
      return false;
    }
  }

  private async linkTo(existing: string, path: string): Promise<void> {
    await link(existing, path).catch((e) => this.error(mapIoError(e, `hard link ${path}`).message));
    this.result.files++;
  }

  /**
   * Blobs are fetched and opened concurrently (workers authenticate and
   * decompress); each is written at its offset as soon as it is ready.
   * Neighbouring blobs of one pack are fetched with one ranged read (on S3,
   * one GET instead of one per blob). File system calls are synchronous:
   * writes land in the page cache, and a libuv round trip per call would cost
   * more than the call (20,000 small files).
   */
  private async writeFile(path: string, n: TreeNode): Promise<void> {
    // Every blob located and the sizes agreeing before the file is even created.
    const blobs = n.content!.map((hex) => {
      const loc = this.repo.index.lookup(Buffer.from(hex, 'hex'));
      if (!loc) throw new EbakError('NOT_FOUND', `${path}: data blob ${hex.slice(0, 16)} is missing from the repository (run \`ebak check\`)`);
      return { id: Buffer.from(hex, 'hex'), loc };
    });
    const size = blobs.reduce((sum, b) => sum + b.loc.rawLength, 0);
    if (size !== n.size) throw new EbakError('CORRUPT', `${path}: its blobs hold ${size} bytes but the snapshot records ${n.size}`);
    const fd = openTarget(path);
    try {
      let failed = false; // once one read fails, the rest of this file is not read
      await settleAll(runsOf(blobs).map((run) => this.blobs.run(async () => {
        if (failed) return;
        const plains = await this.readRun(run).catch((e) => { failed = true; throw e; });
        plains.forEach((plain, i) => {
          writeAll(fd, plain, run[i]!.at, path);
          this.result.bytes += plain.length;
        });
        this.opts.onProgress?.({ files: this.result.files, bytes: this.result.bytes });
      })));
      ftruncateSync(fd, size);
      if (isRoot) fchownSync(fd, n.uid, n.gid);
      fchmodSync(fd, n.mode);
      futimesSync(fd, nsToDate(n.mtime), nsToDate(n.mtime));
    } catch (e) {
      closeSync(fd);
      rmSync(path, { force: true }); // never leave a partial or unverified file behind
      throw isEbakError(e) ? e : mapIoError(e, `write ${path}`);
    }
    closeSync(fd);
    this.result.files++;
  }

  /** One ranged read for a run of neighbouring blobs; each is then authenticated on its own. */
  private async readRun(run: Located[]): Promise<Buffer[]> {
    for (const { id, loc } of run) if (loc.type !== BlobType.data) throw new EbakError('CORRUPT', `blob ${id.toString('hex').slice(0, 16)} is not a data blob`);
    const first = run[0]!.loc;
    const last = run[run.length - 1]!.loc;
    const range = await this.repo.backend.load({ type: 'data', name: first.pack.id }, { offset: first.offset, length: last.offset + last.length - first.offset });
    return Promise.all(run.map(({ id, loc }) => {
      // Each blob gets its own buffer so it can be transferred to a worker.
      const sealed = Buffer.allocUnsafeSlow(loc.length);
      range.copy(sealed, 0, loc.offset - first.offset, loc.offset - first.offset + loc.length);
      const what = `blob ${id.toString('hex').slice(0, 16)} in data/${loc.pack.id}`;
      return this.pool.open(this.repo.packKey(loc.pack), this.repo.keys.blobId, { type: loc.type, flags: loc.flags, rawLength: loc.rawLength, id }, sealed, what);
    }));
  }

  private async setMeta(path: string, n: TreeNode): Promise<void> {
    try {
      if (isRoot) await chown(path, n.uid, n.gid);
      await chmod(path, n.mode);
      await utimes(path, nsToDate(n.mtime), nsToDate(n.mtime));
    } catch (e) {
      this.error(mapIoError(e, `set metadata of ${path}`).message);
    }
  }

  private error(msg: string): void {
    this.result.errors++;
    this.opts.onWarning?.(msg);
  }
}

/**
 * Whether a symlink at `path` to `target` resolves inside `root`. Lexically
 * inside is not enough: in "M/.." the ".." applies to wherever M really
 * leads, and M may be another restored symlink (M -> "." makes "M/.." the
 * target's parent). So ".." may only come before the first named component,
 * where it climbs the link's own ancestors: real directories the restore
 * created and checked. Named components then descend only through entries
 * that are themselves inside (directories, or links held to this same rule).
 */
function staysInside(root: string, path: string, target: string): boolean {
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  const firstNamed = parts.findIndex((p) => p !== '..');
  if (firstNamed >= 0 && parts.lastIndexOf('..') > firstNamed) return false;
  const rel = relative(root, isAbsolute(target) ? resolve(target) : resolve(dirname(path), target));
  return !(rel === '..' || rel.startsWith('../') || isAbsolute(rel));
}

/** Like Promise.all, but rejects (with the first error) only once every promise has settled. */
async function settleAll(ps: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(ps)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

type BlobLocation = NonNullable<ReturnType<Repository['index']['lookup']>>;

interface Located {
  id: Buffer;
  loc: BlobLocation;
  /** Offset of the blob's plaintext in the file. */
  at: number;
}

/** Largest single ranged read: bounds memory (eight reads in flight) while saving requests. */
const MAX_RUN_BYTES = 8 * 1024 * 1024;

/**
 * Groups a file's blobs into runs that lie back to back in one pack. Blobs
 * reach a pack in the order workers finish them, not in file order, so the
 * grouping sorts by position in the pack; each blob keeps its file offset.
 */
function runsOf(blobs: { id: Buffer; loc: BlobLocation }[]): Located[][] {
  let at = 0;
  const located = blobs.map((b) => {
    const l = { ...b, at };
    at += b.loc.rawLength;
    return l;
  });
  located.sort((x, y) => x.loc.pack.id.localeCompare(y.loc.pack.id) || x.loc.offset - y.loc.offset);
  const runs: Located[][] = [];
  for (const b of located) {
    const run = runs[runs.length - 1];
    const prev = run?.[run.length - 1]?.loc;
    const adjacent = prev && prev.pack.id === b.loc.pack.id && prev.offset + prev.length === b.loc.offset;
    if (run && adjacent && b.loc.offset + b.loc.length - run[0]!.loc.offset <= MAX_RUN_BYTES) run.push(b);
    else runs.push([b]);
  }
  return runs;
}

/** Creates (or truncates) a regular file, refusing to follow a symlink at its place. */
function openTarget(path: string): number {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new EbakError('UNSAFE_PATH', `${path} exists as a symlink; refusing to write through it`);
    throw mapIoError(e, `create ${path}`);
  }
}

function writeAll(fd: number, data: Buffer, at: number, path: string): void {
  for (let done = 0; done < data.length; ) {
    const n = writeSync(fd, data, done, data.length - done, at + done);
    if (n === 0) throw new EbakError('IO', `${path}: write made no progress`);
    done += n;
  }
}

/** Nanosecond timestamps → seconds with the sub-second part (utimes takes fractional seconds). */
function nsToDate(ns: string): number {
  const v = BigInt(ns);
  return Number(v / 1_000_000_000n) + Number(v % 1_000_000_000n) / 1e9;
}
