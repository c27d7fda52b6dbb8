/**
 * The end of a backup on storage with Object Lock: every data pack the new
 * snapshot uses stays locked at least N days from the backup's start, as
 * long as the snapshot itself but for the minutes the backup took
 * (Backend.extendRetention; S3 PutObjectRetention, docs/storage.md "Object
 * Lock"). A pack the backup reused from an older one keeps its own upload's
 * date otherwise, and could be deleted while the new snapshot still needs it.
 *
 * One probe first (the root tree's pack): storage that locks nothing says so
 * without a request, and no tree is walked. Otherwise the snapshot's trees
 * are walked (from the local cache: no request for a cached tree), each
 * shared subtree once, and the packs they name are handed to the storage,
 * which asks S3 only about packs whose known date falls short.
 */
import type { BlobIndex, TreeLoader } from '../repository/api.js';
import type { Backend } from '../storage/backend.js';
import { Semaphore } from '../util/semaphore.js';
import { walk } from '../walker/index.js';

export type RetentionStorage = Pick<Backend, 'extendRetention'>;

/** Extensions in flight at once (the storage's connection limit bounds them too). */
const AT_ONCE = 8;

/** Every data pack under `tree` is locked at least as long as an object saved at `started` (the backup's start). */
export async function extendSnapshotPacks(repo: TreeLoader & BlobIndex, storage: RetentionStorage, tree: string, started: Date, signal: AbortSignal | undefined): Promise<void> {
  const extend = storage.extendRetention?.bind(storage);
  const root = packOf(repo, tree);
  if (!extend || root === undefined) return;
  const opts = signal ? { signal } : {};
  if ((await extend({ type: 'data', name: root }, started, opts)) === 'unlocked') return;
  const sem = new Semaphore(AT_ONCE);
  await Promise.all([...(await packsOf(repo, tree))].map((name) => sem.run(() => extend({ type: 'data', name }, started, opts))));
}

function packOf(index: BlobIndex, blob: string): string | undefined {
  return index.lookupBlob(Buffer.from(blob, 'hex'))?.pack.id;
}

/** The packs holding the blobs (trees and file contents) under `tree`. */
async function packsOf(repo: TreeLoader & BlobIndex, tree: string): Promise<Set<string>> {
  const trees = new Set<string>();
  const packs = new Set<string>();
  const add = (blob: string) => {
    const pack = packOf(repo, blob);
    if (pack !== undefined) packs.add(pack);
  };
  await walk(repo, tree, {
    tree(id) {
      if (trees.has(id)) return 'skip';
      trees.add(id);
      add(id);
    },
    node(_path, node) {
      for (const id of node.content ?? []) add(id);
    },
  });
  return packs;
}
