/**
 * The write pass of a restore: directories in order (each one's own mode
 * and times set after its children), symlinks and special files in place,
 * files written concurrently. Failures of one entry's repository data or metadata are
 * counted and reported, and the restore goes on; anything else (disk full,
 * an unsafe path) stops it.
 */
import { link } from 'node:fs/promises';
import { isEbakError, type ErrorCode } from '../errors.js';
import type { BlobReader, TreeLoader } from '../repository/api.js';
import type { TreeNode } from '../repository/format/tree.js';
import { mapIoError } from '../util/fs.js';
import { Semaphore } from '../util/semaphore.js';
import { settleAll } from '../util/settle.js';
import { restoreContents } from './files.js';
import { HardLinks } from './hardlinks.js';
import type { RestoreOptions, RestoreResult } from './index.js';
import { restoreSpecial } from './special.js';
import { createSymlink } from './symlinks.js';
import { childPath, makeDir, setDirMeta } from './target.js';

/** Failures of one file's repository data: reported per file, the restore goes on. */
const DATA_ERRORS = new Set<ErrorCode>(['AUTH_FAILED', 'CORRUPT', 'NOT_FOUND']);

export class Restorer {
  readonly result: RestoreResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, errors: 0 };
  private readonly files = new Semaphore(8);
  private readonly hardlinks = new HardLinks();

  constructor(
    private readonly trees: TreeLoader,
    private readonly blobs: BlobReader,
    private readonly root: string,
    private readonly wanted: (rel: string) => boolean,
    private readonly opts: RestoreOptions,
  ) {}

  /** Restores a directory's entries; its own mode and times are set after its children. */
  async restoreDir(treeId: string, dir: Buffer, rel: string): Promise<void> {
    const nodes = await this.trees.loadTree(treeId);
    const files: Promise<void>[] = [];
    try {
      for (const n of nodes) {
        this.opts.signal?.throwIfAborted();
        const path = childPath(dir, n);
        const nodeRel = `${rel}/${n.name}`;
        if (!this.wanted(nodeRel)) continue;
        if (n.type === 'dir') {
          await makeDir(path);
          await this.restoreDir(n.subtree!, path, nodeRel);
          await setDirMeta(path, n).catch((e: Error) => this.error(e.message));
          this.result.dirs++;
        } else if (n.type === 'symlink') {
          await this.restoreSymlink(path, n);
        } else if (n.type !== 'file') {
          await this.restoreSpecial(path, n);
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

  private async restoreSymlink(path: Buffer, n: TreeNode): Promise<void> {
    try {
      await createSymlink(path, n);
      this.result.symlinks++;
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  /** A FIFO or device (counted as a file, as restic does); a socket is left out. */
  private async restoreSpecial(path: Buffer, n: TreeNode): Promise<void> {
    try {
      if (await restoreSpecial(this.root, path, n)) this.result.files++;
    } catch (e) {
      this.error((e as Error).message);
    }
  }

  private async restoreFile(path: Buffer, n: TreeNode): Promise<void> {
    this.opts.signal?.throwIfAborted(); // it may have waited for a slot
    if (n.links <= 1) {
      await this.writeFileOrReport(path, n);
      return;
    }
    const existing = await this.hardlinks.linkOrWrite(n, path, () => this.writeFileOrReport(path, n));
    if (existing) {
      await link(existing, path).catch((e) => this.error(mapIoError(e, `hard link ${path}`).message));
      this.result.files++;
    }
  }

  /**
   * Writes one file. Damaged or missing repository data is reported for
   * this file and the restore goes on (exit code 3); anything else stops it.
   */
  private async writeFileOrReport(path: Buffer, n: TreeNode): Promise<boolean> {
    try {
      await restoreContents(this.blobs, path, n, (bytes) => {
        this.result.bytes += bytes;
        this.opts.onProgress?.({ files: this.result.files, bytes: this.result.bytes });
      }, (msg) => this.error(msg));
      this.result.files++;
      return true;
    } catch (e) {
      if (!isEbakError(e) || !DATA_ERRORS.has(e.code)) throw e;
      this.error(e.message.startsWith(`${path}`) ? e.message : `${path}: ${e.message}`);
      return false;
    }
  }

  private error(msg: string): void {
    this.result.errors++;
    this.opts.onWarning?.(msg);
  }
}
