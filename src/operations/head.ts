/**
 * Deleting snapshots and index files where a repository head is kept (a
 * HeadRecorder, src/repository/api.ts; in vault mode): the names are posted
 * pending, deleted, then posted removed, so a crash between the steps is
 * never taken for a rollback; and what a crashed removal left pending is
 * finished by the next operation that deletes. Without a head (local mode)
 * these are plain deletions.
 */
import type { HeadRecorder } from '../repository/api.js';

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

/** Finishes the removals a crashed command left pending (deleting a missing object is no error). Under the caller's lock. */
export async function finishPending(head: HeadRecorder | undefined, repo: Deleter): Promise<void> {
  if (!head) return;
  const { snapshots, indexes } = head.pending();
  for (const id of snapshots) await repo.removeSnapshot(id);
  for (const name of indexes) await repo.removeIndexFile(name);
  if (snapshots.length + indexes.length > 0) await head.removed({ snapshots, indexes });
}
