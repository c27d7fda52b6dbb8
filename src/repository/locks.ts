/**
 * Repository locks (docs/format.md, "Locks"): encrypted objects under
 * locks/. Backups take shared locks (many may run at once); operations that
 * delete data take an exclusive lock. A lock not refreshed for STALE_MS, or
 * held by a process that no longer exists on this host, is stale: it is
 * reported and ignored.
 */
import { hostname } from 'node:os';
import { EbakError, isEbakError } from '../errors.js';
import { hostMeta, type Repository } from './repository.js';

export const STALE_MS = 30 * 60 * 1000;
const REFRESH_MS = 5 * 60 * 1000;

export interface LockInfo {
  time: string;
  hostname: string;
  username: string;
  pid: number;
  exclusive: boolean;
}

export interface Lock {
  release(): Promise<void>;
}

export async function readLocks(repo: Repository): Promise<{ id: string; lock?: LockInfo; stale: boolean }[]> {
  const out = [];
  for (const id of await repo.list('locks')) {
    try {
      const lock = JSON.parse((await repo.loadObject('lock', id)).toString('utf8')) as LockInfo;
      out.push({ id, lock, stale: isStale(lock) });
    } catch (e) {
      if (!isEbakError(e)) throw e;
      out.push({ id, stale: true }); // unreadable or vanished: cannot hold anything
    }
  }
  return out;
}

export function isStale(l: LockInfo, now = Date.now()): boolean {
  if (now - Date.parse(l.time) > STALE_MS) return true;
  if (l.hostname !== hostname()) return false;
  try {
    process.kill(l.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Takes a lock; `onStale` hears about stale locks that were ignored. */
export async function acquireLock(repo: Repository, exclusive: boolean, onStale: (msg: string) => void): Promise<Lock> {
  const conflict = async () => {
    for (const l of await readLocks(repo)) {
      if (l.stale) {
        onStale(`ignoring stale lock locks/${l.id}${l.lock ? ` (pid ${l.lock.pid} on ${l.lock.hostname}, ${l.lock.time})` : ''}`);
        continue;
      }
      if (l.id !== mine && (exclusive || l.lock!.exclusive)) return l;
    }
    return undefined;
  };
  let mine = '';
  const write = () => repo.saveObject('lock', Buffer.from(JSON.stringify({ time: new Date().toISOString(), ...hostMeta(), pid: process.pid, exclusive })));
  const held = await conflict();
  if (held) throw lockedError(held.lock!, held.id);
  mine = await write();
  // Re-check after writing: of two racing lockers at least one sees the other and backs off (possibly both: safe, retry later).
  const raced = await conflict();
  if (raced) {
    await repo.backend.remove({ type: 'locks', name: mine });
    throw lockedError(raced.lock!, raced.id);
  }
  const timer = setInterval(() => {
    void write().then(async (next) => {
      await repo.backend.remove({ type: 'locks', name: mine });
      mine = next;
    }).catch(() => undefined);
  }, REFRESH_MS);
  timer.unref();
  return {
    async release() {
      clearInterval(timer);
      await repo.backend.remove({ type: 'locks', name: mine });
    },
  };
}

function lockedError(l: LockInfo, id: string): EbakError {
  return new EbakError('LOCKED', `repository is locked ${l.exclusive ? 'exclusively' : ''} by pid ${l.pid} on ${l.hostname} since ${l.time} (locks/${id})`.replace('  ', ' '), {
    hint: 'wait for that operation to finish; a lock left by a crash expires after 30 minutes',
  });
}
