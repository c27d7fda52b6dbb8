/**
 * The end of a backup on storage with Object Lock: every data pack the new
 * snapshot uses stays locked at least N days from the backup's start, as
 * long as the snapshot itself but for the minutes the backup took
 * (Backend.extendRetention; S3 PutObjectRetention, docs/storage.md "Object
 * Lock"). A pack the backup reused from an older one keeps its own upload's
 * date otherwise, and could be deleted while the new snapshot still needs it.
 * The pack set comes from the command's PackSets (packsets.ts), which the
 * vault's pack record reuses: the trees are walked once for both.
 *
 * One probe first (the root tree's pack): storage that locks nothing says so
 * without a request, and no tree is walked. Otherwise the snapshot's trees
 * are walked (from the local cache: no request for a cached tree), each
 * shared subtree once, and the packs they name are handed to the storage,
 * which asks S3 only about packs whose known date falls short.
 */
import type { BlobIndex } from '../repository/api.js';
import type { Backend } from '../storage/backend.js';
import { Semaphore } from '../util/semaphore.js';
import type { PackSets } from './packsets.js';

export type RetentionStorage = Pick<Backend, 'extendRetention'>;

/** Extensions in flight at once (the storage's connection limit bounds them too). */
const AT_ONCE = 8;

/** Every data pack under `tree` is locked at least as long as an object saved at `started` (the backup's start). */
export async function extendSnapshotPacks(repo: Pick<BlobIndex, 'lookupBlob'>, sets: PackSets, storage: RetentionStorage, tree: string, started: Date, signal: AbortSignal | undefined): Promise<void> {
  const extend = storage.extendRetention?.bind(storage);
  const root = repo.lookupBlob(Buffer.from(tree, 'hex'))?.pack.id;
  if (!extend || root === undefined) return;
  const opts = signal ? { signal } : {};
  if ((await extend({ type: 'data', name: root }, started, opts)) === 'unlocked') return;
  const sem = new Semaphore(AT_ONCE);
  await Promise.all([...(await sets.under(tree)).packs].map((name) => sem.run(() => extend({ type: 'data', name }, started, opts))));
}
