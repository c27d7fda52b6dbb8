/**
 * Restore: recreates a snapshot's tree under a target directory. Safety
 * rules (docs/format.md, "Restore safety"): names are single components
 * (checked when trees are decoded); nothing is ever written through a
 * symlink (files open with O_NOFOLLOW, directories are checked with lstat),
 * so symlinks are restored as they were recorded, wherever they point. Every blob is authenticated and its
 * id re-checked (in a worker thread) before a byte of it is written.
 *
 * By duty: plan.ts (included paths, packs to prepare), restorer.ts (the
 * write pass), files.ts (a file's contents from its blobs), target.ts
 * (writes into the target), symlinks.ts, hardlinks.ts, special.ts (FIFOs,
 * devices).
 */
import { resolve } from 'node:path';
import type { BlobReader, TreeLoader } from '../repository/api.js';
import type { Snapshot } from '../repository/format/snapshot.js';
import { makeDirs } from '../util/fs.js';
import { includedPaths, planReads } from './plan.js';
import { Restorer } from './restorer.js';

export interface RestoreOptions {
  target: string;
  /** Snapshot paths ("/work/a.txt", as `ebak ls` prints them) to restore; default all. */
  includes?: string[];
  onWarning?: (msg: string) => void;
  onProgress?: (p: { files: number; bytes: number }) => void;
  /** While archived data packs are being made readable (BlobReader.prepareRead). */
  onPrepare?: (ready: number, total: number) => void;
  /** Aborting it stops the restore between entries (rejecting with the signal's reason) once the files in flight settle. */
  signal?: AbortSignal;
}

export interface RestoreResult {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  errors: number;
}

export async function restore(trees: TreeLoader, blobs: BlobReader, snapshot: Snapshot, opts: RestoreOptions): Promise<RestoreResult> {
  const root = resolve(opts.target);
  await makeDirs(root);
  const wanted = includedPaths(opts.includes);
  // Archive storage: every pack this restore reads made readable first (waits may be hours).
  if (blobs.prepareRead) {
    const plan = await planReads(trees, blobs, snapshot.tree, wanted);
    await blobs.prepareRead(plan.packs, opts.onPrepare);
    trees = plan.trees;
    opts.signal?.throwIfAborted();
  }
  const r = new Restorer(trees, blobs, root, wanted, opts);
  await r.restoreDir(snapshot.tree, Buffer.from(root), '');
  return r.result;
}
