/**
 * The write pass of a restore: directories in order (each one's own mode
 * and times set once everything below it is written), symlinks and special
 * files in place, files handed to the pack writer (packs.ts) while the walk
 * goes on, so one batch of files spans directories. Paths are bytes (names need not be UTF-8);
 * `rel` is the snapshot path as text, for filters and messages. What the
 * target already holds is merged, kept, replaced or skipped as --overwrite
 * says (overwrite.ts), so a restore run again into a target finishes and
 * leaves it as a fresh restore would; with --delete, entries the snapshot
 * lacks are removed (only what the filter covers). A dry run decides the
 * same and writes nothing. Failures of one entry's repository data or
 * metadata are counted and reported, and the restore goes on; anything else
 * (disk full, an unsafe path) stops it.
 */
import { readdirSync, type BigIntStats } from 'node:fs';
import { link } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isEbakError, type ErrorCode } from '../errors.js';
import type { BlobReader, LocatedBlob, TreeLoader } from '../repository/api.js';
import { nameKey, type TreeNode } from '../repository/format/tree.js';
import { mapIoError } from '../util/fs.js';
import { Semaphore } from '../util/semaphore.js';
import { locateContent, restoreContents } from './files.js';
import { HardLinks } from './hardlinks.js';
import { BATCH_FILES, DRY_FILES, PackWriter, SPREAD_FILES } from './packs.js';
import type { RestoreAction, RestoreOptions, RestoreResult } from './index.js';
import { decide, type Decision } from './overwrite.js';
import { Outstanding } from './outstanding.js';
import type { RestoreFilter } from './plan.js';
import { TreePrefetch } from './prefetch.js';
import { entryAt, openUp, refreshFileMeta, removeEntry, replaceEntry, sameInode } from './replace.js';
import { restoreSpecial } from './special.js';
import { createSymlink } from './symlinks.js';
import { childPath, makeDir, setDirMeta } from './target.js';
import { sameContent, type BlobHasher } from './verify.js';

/** Failures of one file's repository data: reported per file, the restore goes on. */
const DATA_ERRORS = new Set<ErrorCode>(['AUTH_FAILED', 'CORRUPT', 'NOT_FOUND']);

const REPORTED: Partial<Record<Decision, RestoreAction>> = { create: 'restored', replace: 'updated', keep: 'unchanged', skip: 'skipped' };

export class Restorer {
  readonly result: RestoreResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, errors: 0, unchanged: 0, skipped: 0, deleted: 0, verified: 0 };
  /** Files in flight: a pack writer's batch being written and the next filling. */
  private readonly files = new Semaphore(2 * BATCH_FILES);
  /** Files of more than one blob in flight, of the files above: each may hold a descriptor until written (packs.ts). */
  private readonly multiBlob = new Semaphore(2 * SPREAD_FILES);
  private readonly writer: PackWriter;
  private readonly trees: TreePrefetch;
  private readonly hardlinks = new HardLinks();
  private readonly dryRun: boolean;
  /** The first failure that stops the restore (disk full, an unsafe path), once seen. */
  private fatal: unknown;
  /** Files started since the walk last let the event loop turn (nextTurn). */
  private startedSinceTurn = 0;

  constructor(
    trees: TreeLoader,
    private readonly blobs: BlobReader,
    private readonly hasher: BlobHasher,
    private readonly root: string,
    private readonly filter: RestoreFilter,
    private readonly opts: RestoreOptions,
  ) {
    this.dryRun = opts.dryRun === true;
    this.trees = new TreePrefetch(trees, (rel) => filter.visits(rel, true));
    this.writer = new PackWriter(blobs, opts.sparse === true, (bytes) => {
      this.result.bytes += bytes;
      this.opts.onProgress?.({ files: this.result.files, bytes: this.result.bytes });
    });
  }

  /**
   * Restores a directory's entries (its own mode and times are the caller's); then, with --delete, removes what the snapshot lacks.
   * `fresh`: this restore just made the directory, so nothing is in it and no entry needs looking at first (one lstat per entry saved).
   * Resolves once the entries are walked, with `done`: every file below written (the walk goes on meanwhile, so a pack
   * writer's batch spans directories). Failing, it first settles all it started.
   */
  async restoreDir(treeId: string, dir: Buffer, rel: string, fresh = false): Promise<{ done: Promise<void> }> {
    const names = this.opts.delete && !fresh ? new Set<string>() : undefined;
    const pending = new Outstanding();
    try {
      for await (const part of this.trees.parts(treeId, rel)) {
        for (const n of part) {
          this.opts.signal?.throwIfAborted();
          if (this.fatal) throw this.fatal;
          names?.add(nameKey(n));
          const path = childPath(dir, n);
          const nodeRel = `${rel}/${n.name}`;
          if (!this.filter.visits(nodeRel, n.type === 'dir')) continue;
          if (n.type === 'dir') pending.add((await this.restoreSubdir(path, nodeRel, n, fresh)).done);
          else if (n.type === 'symlink') await this.restoreSymlink(path, nodeRel, n, fresh);
          else if (n.type !== 'file') await this.restoreSpecial(path, nodeRel, n, fresh);
          else {
            const waiting = this.startFile(path, nodeRel, n, fresh, pending);
            if (waiting) await waiting;
            else if (++this.startedSinceTurn >= DRY_FILES) await this.nextTurn();
          }
        }
      }
    } catch (e) {
      await pending.all().catch(() => undefined);
      throw e;
    }
    const done = pending.all().then(() => {
      if (names) this.deleteExtra(dir, rel, names);
    });
    return { done: this.observed(done) };
  }

  /**
   * Lets the event loop turn: a walk over trees already read starts files without ever waiting, and
   * the workers' answers (and the pack writer's batch going out when they run dry) waited for it to
   * pass 4,096 files, the workers idle meanwhile.
   */
  private async nextTurn(): Promise<void> {
    this.startedSinceTurn = 0;
    await nextTurn();
  }

  /**
   * `work`, observed at once (settled later, a rejection must not go unhandled meanwhile); the first
   * failure that stops the restore stops the walk too.
   */
  private observed(work: Promise<void>): Promise<void> {
    work.catch((e: unknown) => (this.fatal ??= e));
    return work;
  }

  /**
   * A file's write started once one of the slots is free: the walk waits for the slot (the promise
   * returned; undefined when one was free and the write started at once), so what waits is the walk,
   * not a queue of every file of the snapshot (each a closure and promises until its turn). `pending`
   * counts the file until it is written.
   */
  private startFile(path: Buffer, rel: string, n: TreeNode, fresh: boolean, pending: Outstanding): Promise<void> | undefined {
    const multi = (n.content?.length ?? 0) > 1;
    const file = this.files.tryAcquire();
    const spread = file && multi ? this.multiBlob.tryAcquire() : undefined;
    if (!file || (multi && !spread)) return this.startLater(path, rel, n, fresh, pending, file, multi);
    this.runFile(path, rel, n, fresh, pending, () => (file(), spread?.()));
    return undefined;
  }

  /** startFile once the slots it lacked are free (`file`: the file slot, if it has one). */
  private async startLater(path: Buffer, rel: string, n: TreeNode, fresh: boolean, pending: Outstanding, file: (() => void) | undefined, multi: boolean): Promise<void> {
    const releaseFile = file ?? (await this.files.acquire());
    const releaseMulti = multi ? await this.multiBlob.acquire() : undefined;
    const release = () => (releaseFile(), releaseMulti?.());
    if (this.opts.signal?.aborted) {
      release();
      this.opts.signal.throwIfAborted(); // it waited for a slot
    }
    this.runFile(path, rel, n, fresh, pending, release);
  }

  /** Writes the file, counted in `pending`; `release` gives its slots back once it settles. A failure that stops the restore stops the walk too. */
  private runFile(path: Buffer, rel: string, n: TreeNode, fresh: boolean, pending: Outstanding, release: () => void): void {
    const end = pending.begin();
    const settle = (failed?: { error: unknown }) => {
      release();
      if (failed) this.fatal ??= failed.error;
      end(failed);
    };
    if (!fresh || n.links > 1 || this.dryRun) {
      this.restoreFile(path, rel, n, fresh).then(() => settle(), (e: unknown) => settle({ error: e }));
      return;
    }
    try {
      this.writeFresh(path, rel, n, settle);
    } catch (e) {
      settle({ error: e }); // not handed over (settle was not called)
    }
  }

  /**
   * The common case, a file in a directory this restore just made (nothing there to decide about),
   * of one link, not a dry run: what placeFile does, with a callback at each step instead of its
   * chain of promises (a restore has thousands of files in flight, and those promises were most of
   * the main thread's young garbage: docs/benchmarks.md, rperf5). `settle` is called once.
   */
  private writeFresh(path: Buffer, rel: string, n: TreeNode, settle: (failed?: { error: unknown }) => void): void {
    const done = (r: string[] | Error): void => {
      try {
        if (!(r instanceof Error)) this.wroteFresh(path, rel, n, r);
        else if (!this.reportedDataError(path, r)) return settle({ error: r });
      } catch (e) {
        return settle({ error: e });
      }
      settle();
    };
    let located: LocatedBlob[];
    try {
      located = locateContent(this.blobs, path, n);
    } catch (e) {
      return done(e as Error);
    }
    this.writer.put({ at: path, meta: n, size: n.size ?? 0, located }, done);
  }

  /** A fresh file written, with the extended attributes not set (`problems`): counted and reported as placeFile does. */
  private wroteFresh(path: Buffer, rel: string, n: TreeNode, problems: string[]): void {
    for (const p of problems) this.error(p);
    this.result.files++;
    this.report('create', rel);
    this.verified(path, n);
  }

  /** A subdirectory walked; `done` when it is complete (its files written, then its own metadata set). */
  private async restoreSubdir(path: Buffer, rel: string, n: TreeNode, fresh: boolean): Promise<{ done: Promise<void> }> {
    const { decision, there } = this.decide(path, n, fresh);
    if (decision === 'skip') {
      this.report('skip', rel);
      return { done: Promise.resolve() };
    }
    if (!this.dryRun) {
      if (decision === 'merge') await openUp(path, there!);
      else {
        if (decision === 'replace') removeEntry(path);
        makeDir(path);
      }
    }
    this.report(decision, rel);
    const { done } = await this.restoreDir(n.subtree!, path, rel, decision === 'create' && !this.dryRun);
    const complete = done.then(() => {
      if (!this.dryRun) this.dirMeta(path, n);
      this.result.dirs++;
    });
    return { done: this.observed(complete) };
  }

  /** A directory's own metadata, once everything below it is written; a failure is reported for it. */
  private dirMeta(path: Buffer, n: TreeNode): void {
    try {
      setDirMeta(path, n);
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  /** Restored as recorded (absolute or pointing out of the target, as restic, borg and tar do); never written through. */
  private async restoreSymlink(path: Buffer, rel: string, n: TreeNode, fresh: boolean): Promise<void> {
    const { decision, there } = this.decide(path, n, fresh);
    if (decision === 'skip') return this.report('skip', rel);
    try {
      const make = async (at: Buffer) => createSymlink(at, n, (msg) => this.error(msg));
      if (!this.dryRun) await (there ? replaceEntry(path, there, make) : make(path));
      this.result.symlinks++;
      this.report(decision, rel);
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  /** A FIFO or device (counted as a file, as restic does); a socket is left out. special.ts renames it into place over what is there. */
  private async restoreSpecial(path: Buffer, rel: string, n: TreeNode, fresh: boolean): Promise<void> {
    const { decision, there } = this.decide(path, n, fresh);
    if (decision === 'skip') return this.report('skip', rel);
    try {
      if (this.dryRun) this.result.files++;
      else {
        if (there?.isDirectory()) removeEntry(path);
        if (await restoreSpecial(this.root, path, n)) this.result.files++;
      }
      this.report(there ? 'replace' : 'create', rel);
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  private async restoreFile(path: Buffer, rel: string, n: TreeNode, fresh: boolean): Promise<void> {
    if (n.links <= 1) {
      await this.placeFile(path, rel, n, fresh);
      return;
    }
    const existing = await this.hardlinks.linkOrWrite(n, path, () => this.placeFile(path, rel, n, fresh));
    if (existing) await this.placeLink(existing, path, rel, n);
  }

  /** Puts the file in place as --overwrite decides; true when `path` then holds it. */
  private async placeFile(path: Buffer, rel: string, n: TreeNode, fresh: boolean): Promise<boolean> {
    const { decision, there } = this.decide(path, n, fresh);
    if (decision === 'skip') {
      this.report('skip', rel);
      return false;
    }
    if (decision === 'keep' && (this.dryRun || refreshFileMeta(path, n))) {
      this.result.unchanged++;
      this.report('keep', rel);
      return this.verified(path, n);
    }
    if (this.dryRun) {
      this.result.files++;
      this.result.bytes += n.size ?? 0;
      this.report(decision, rel);
      return true;
    }
    if (!(await this.writeFileOrReport(path, n, there))) return false;
    this.report(there ? 'replace' : 'create', rel);
    return this.verified(path, n);
  }

  /** A later name of a hard-linked file: linked to the first, unless it already is. */
  private async placeLink(existing: Buffer, path: Buffer, rel: string, n: TreeNode): Promise<void> {
    const there = entryAt(path);
    if (there && sameInode(there, entryAt(existing))) {
      this.result.unchanged++;
      return this.report('keep', rel);
    }
    const decision = there ? decide(path, n, there, this.opts.overwrite ?? 'always', () => false) : 'create';
    if (decision === 'skip') return this.report('skip', rel);
    try {
      if (!this.dryRun) await (there ? replaceEntry(path, there, (at) => link(existing, at)) : link(existing, path));
      this.result.files++;
      this.report(there ? 'replace' : 'create', rel);
    } catch (e) {
      this.error(mapIoError(e, `hard link ${path}`).message);
    }
  }

  /**
   * Writes one file (over `there`, what the target holds, if anything). Damaged or missing
   * repository data is reported for this file and the restore goes on (exit code 3); anything else stops it.
   */
  private async writeFileOrReport(path: Buffer, n: TreeNode, there: BigIntStats | undefined): Promise<boolean> {
    try {
      const write = (at: Buffer) => restoreContents(this.blobs, this.writer, path, n, (msg) => this.error(msg), at);
      await (there ? replaceEntry(path, there, write) : write(path));
      this.result.files++;
      return true;
    } catch (e) {
      if (!this.reportedDataError(path, e)) throw e;
      return false;
    }
  }

  /** A failure of one file's repository data is reported for it (true) and the restore goes on; anything else (false) stops it. */
  private reportedDataError(path: Buffer, e: unknown): boolean {
    if (!isEbakError(e) || !DATA_ERRORS.has(e.code)) return false;
    this.error(e.message.startsWith(`${path}`) ? e.message : `${path}: ${e.message}`);
    return true;
  }

  /** With --verify, reads the file back against the snapshot (a mismatch is an error); true when it holds the file. */
  private verified(path: Buffer, n: TreeNode): boolean {
    if (!this.opts.verify || this.dryRun) return true;
    if (sameContent(this.hasher, this.blobs, path, n)) {
      this.result.verified++;
      return true;
    }
    this.error(`${path}: its content read back differs from the snapshot (--verify)`);
    return false;
  }

  /** --delete: entries of `dir` the snapshot lacks, within what the restore covers (names compared as bytes). */
  /** `inSnapshot`: the snapshot's names in `dir` (nameKey). */
  private deleteExtra(dir: Buffer, rel: string, inSnapshot: ReadonlySet<string>): void {
    let names: Buffer[];
    try {
      names = readdirSync(dir, { encoding: 'buffer' });
    } catch {
      return; // a dry run's directory not made, or one skipped
    }
    for (const name of names) {
      const childRel = `${rel}/${name.toString()}`;
      if (inSnapshot.has(name.toString('latin1')) || !this.filter.covers(childRel)) continue;
      if (!this.dryRun) removeEntry(Buffer.concat([dir, Buffer.from('/'), name]));
      this.result.deleted++;
      this.opts.onAction?.('deleted', childRel);
    }
  }

  private decide(path: Buffer, n: TreeNode, fresh: boolean): { decision: Decision; there: BigIntStats | undefined } {
    if (fresh) return { decision: 'create', there: undefined };
    const there = entryAt(path);
    return { decision: decide(path, n, there, this.opts.overwrite ?? 'always', () => sameContent(this.hasher, this.blobs, path, n)), there };
  }

  private report(decision: Decision, rel: string): void {
    const action = REPORTED[decision];
    if (decision === 'skip') this.result.skipped++;
    if (action) this.opts.onAction?.(action, rel);
  }

  private error(msg: string): void {
    this.result.errors++;
    this.opts.onWarning?.(msg);
  }
}
