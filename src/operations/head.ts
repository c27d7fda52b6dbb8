/**
 * Deleting snapshots and index files where a repository head is kept (a
 * HeadRecorder, src/repository/api.ts; in vault mode): the names are posted
 * pending, deleted, then posted removed, so a crash between the steps is
 * never taken for a rollback; and what a crashed removal left pending is
 * finished by the next operation that deletes. Without a head (local mode)
 * these are plain deletions. Where the vault holds the delete credential,
 * snapshot objects and packs are deleted by the vault (an ObjectDeleter:
 * src/vault/client/deleter.ts), index files and locks by the repository.
 */
import type { BlobIndex, HeadRecorder, SnapshotStore, TreeLoader } from '../repository/api.js';
import { usedBlobs, walk } from '../walker/index.js';

type Kind = 'snapshots' | 'indexes';

/**
 * Removes `names` of `kind` through `remove`, one by one. On a failure the
 * ones deleted are confirmed and the rest stay pending (no alarm either way).
 */
export async function removeRecorded(head: HeadRecorder | undefined, kind: Kind, names: readonly string[], remove: (name: string) => Promise<void>, signal?: AbortSignal): Promise<void> {
  if (names.length === 0) return;
  await head?.removing({ [kind]: names });
  let done = 0;
  try {
    for (; done < names.length; done++) {
      signal?.throwIfAborted();
      await remove(names[done]!);
    }
  } catch (e) {
    await head?.removed({ [kind]: names.slice(0, done) }).catch(() => undefined);
    throw e;
  }
  await head?.removed({ [kind]: names });
}

export interface Deleter {
  removeSnapshot(id: string): Promise<void>;
  removeIndexFile(name: string): Promise<void>;
}

/** Where snapshot objects and packs are deleted, when not by the repository's own storage credential (the vault's). */
export interface ObjectDeleter {
  removeSnapshot(id: string): Promise<void>;
  /** Deletes `ids`; a refusal deletes none of the request refused. */
  removePacks(ids: readonly string[], signal?: AbortSignal): Promise<void>;
}

/** `repo` deleting its snapshots through `via` when given (index files stay the repository's own). */
export function snapshotsVia(repo: Deleter, via: ObjectDeleter | undefined): Deleter {
  return via ? { removeSnapshot: (id) => via.removeSnapshot(id), removeIndexFile: (name) => repo.removeIndexFile(name) } : repo;
}

/** Finishes the removals a crashed command left pending (deleting a missing object is no error). Under the caller's lock. */
export async function finishPending(head: HeadRecorder | undefined, repo: Deleter): Promise<void> {
  if (!head) return;
  const { snapshots, indexes } = head.pending();
  for (const id of snapshots) await repo.removeSnapshot(id);
  for (const name of indexes) await repo.removeIndexFile(name);
  if (snapshots.length + indexes.length > 0) await head.removed({ snapshots, indexes });
}

/** What a write-only repository knows of the snapshots it saved. */
interface PacksWritten {
  packsWritten?(id: string): string[] | undefined;
}

/**
 * The packs (data and tree) snapshot `id` references, through the loaded
 * index: what a backup records with the vault for its pack refusals
 * (src/vault/server/deletion.ts). Undefined when a blob is in no indexed pack.
 * A write-only repository cannot walk trees: it says which packs the
 * snapshot it saved used (`packsWritten`, every blob its backup referenced).
 */

export async function snapshotPacks(repo: Pick<SnapshotStore, 'loadSnapshot'> & TreeLoader & Pick<BlobIndex, 'lookupBlob'> & PacksWritten, id: string): Promise<string[] | undefined> {
  if (repo.packsWritten) return repo.packsWritten(id);
  const visitor = usedBlobs();
  await walk(repo, (await repo.loadSnapshot(id)).tree, visitor);
  const packs = new Set<string>();
  for (const blob of visitor.blobs) {
    const loc = repo.lookupBlob(Buffer.from(blob, 'hex'));
    if (!loc) return undefined;
    packs.add(loc.pack.id);
  }
  return [...packs].sort();
}
