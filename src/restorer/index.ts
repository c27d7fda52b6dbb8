/**
 * Restore: recreates a snapshot's tree under a target directory. Safety
 * rules (docs/format.md, "Restore safety"): names are single components
 * (checked when trees are decoded); nothing is ever written through a
 * symlink (files open with O_NOFOLLOW, directories are checked with lstat),
 * so symlinks are restored as they were recorded, wherever they point. Every blob is authenticated and its
 * id re-checked (in a worker thread) before a byte of it is written.
 *
 * Run again into the same target, it finishes and leaves the target as a
 * fresh restore would (--overwrite, --delete; --dry-run says what it would
 * do; --verify reads every file back).
 *
 * By duty: plan.ts (included paths, packs to prepare), restorer.ts (the
 * write pass), overwrite.ts (what to do with an entry already there),
 * replace.ts (replacing it atomically), verify.ts (a file read back against
 * its blobs), files.ts (a file's contents from its blobs), packs.ts (files
 * planned per pack, each pack range read once), sink.ts (a run's blobs
 * written into their files in the worker that opened them), target.ts
 * (writes into the target), symlinks.ts, hardlinks.ts, special.ts (FIFOs,
 * devices). `ebak dump` restores to a stream instead: dump.ts (a file's
 * contents in order), tar.ts (a directory as a tar archive).
 */
import { resolve } from 'node:path';
import type { BlobReader, TreeLoader } from '../repository/api.js';
import type { BlobHasher } from './verify.js';
import type { Snapshot } from '../repository/format/snapshot.js';
import { makeDirs } from '../util/fs.js';
import { EbakError } from '../errors.js';
import type { OverwriteMode } from './overwrite.js';
import { planReads, RestoreFilter } from './plan.js';
import { Restorer } from './restorer.js';

export type { OverwriteMode } from './overwrite.js';
export type { BlobHasher } from './verify.js';

/** What happened to one entry (reported with --verbose; a dry run says what would). */
export type RestoreAction = 'restored' | 'updated' | 'unchanged' | 'skipped' | 'deleted';

export interface RestoreOptions {
  target: string;
  /** Globs of snapshot paths ("/home/u/work/src", "*.txt") to restore; default all. */
  includes?: string[];
  /** Globs of snapshot paths to leave out (restic: not together with includes). */
  excludes?: string[];
  /** What to do with an entry already in the target (overwrite.ts); default "always". */
  overwrite?: OverwriteMode;
  /** Remove entries in the target that the snapshot lacks, within the restored paths. */
  delete?: boolean;
  /** Decide and report everything; write nothing. */
  dryRun?: boolean;
  /** Read every restored file back and compare it with the snapshot's blob ids. */
  verify?: boolean;
  /** Leave all-zero blobs unwritten, as holes (restic's --sparse): a sparse file restores sparse. */
  sparse?: boolean;
  onWarning?: (msg: string) => void;
  onProgress?: (p: { files: number; bytes: number }) => void;
  onAction?: (action: RestoreAction, path: string) => void;
  /** While archived data packs are being made readable (BlobReader.prepareRead). */
  onPrepare?: (ready: number, total: number) => void;
  /** Aborting it stops the restore between entries (rejecting with the signal's reason) once the files in flight settle. */
  signal?: AbortSignal;
}

export interface RestoreResult {
  /** Files written (in a dry run: that would be). */
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Entries refused or failed, each reported (exit code 3). */
  errors: number;
  /** Files already in the target as the snapshot has them. */
  unchanged: number;
  /** Entries left as they were (--overwrite never or if-newer). */
  skipped: number;
  /** Entries removed (--delete). */
  deleted: number;
  /** Files read back and found equal (--verify). */
  verified: number;
}

/** `repo` loads the trees and gives the keyed blob ids (--verify, --overwrite always read files back); `blobs` reads the data. */
export async function restore(repo: TreeLoader & BlobHasher, blobs: BlobReader, snapshot: Snapshot, opts: RestoreOptions): Promise<RestoreResult> {
  let trees: TreeLoader = repo;
  if (opts.includes?.length && opts.excludes?.length) throw new EbakError('USAGE', 'include and exclude patterns are mutually exclusive (as in restic)');
  const root = resolve(opts.target);
  if (!opts.dryRun) await makeDirs(root);
  const filter = new RestoreFilter(opts.includes, opts.excludes);
  // Archive storage: every pack this restore reads made readable first (waits may be hours).
  // The walk that finds them runs only if the storage must know them (S3: unless one listing shows none archived).
  if (blobs.prepareRead && !opts.dryRun) {
    let plan: Promise<Awaited<ReturnType<typeof planReads>>> | undefined;
    await blobs.prepareRead(async () => (await (plan = planReads(trees, blobs, snapshot.tree, filter))).packs, opts.onPrepare);
    if (plan) trees = (await plan).trees;
    opts.signal?.throwIfAborted();
  }
  const r = new Restorer(trees, blobs, repo, root, filter, opts);
  await (await r.restoreDir(snapshot.tree, Buffer.from(root), '')).done;
  // As restic, a pattern that matches nothing is no error (exit 0); it is named.
  for (const p of filter.unmatched()) opts.onWarning?.(`--include ${JSON.stringify(p)} matches nothing in the snapshot`);
  return r.result;
}
