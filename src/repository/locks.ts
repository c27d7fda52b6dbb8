/**
 * Repository locks (docs/format.md, "Locks"): encrypted objects under
 * locks/. Backup, restore and check take shared locks (many may run at
 * once); operations that delete take an exclusive lock; prune takes a
 * prune lock, which excludes exclusive holders and other prunes but not
 * shared holders (its deletions wait for them instead: docs/format.md,
 * "Deleting data"). A lock carries the time its holder first took it
 * (`started`, kept across refreshes), which prune compares with its marks. A lock not
 * refreshed for STALE_MS, or held by a process that no longer exists on
 * this host, is stale: it is reported and ignored. Commands lock through
 * `withLock`, the one place a lock is taken and released.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { EbakError, isEbakError } from '../errors.js';
import type { Lock, LockInfo, Locker, LockMode } from './api.js';

export type { LockInfo } from './api.js';

export const STALE_MS = 30 * 60 * 1000;
const REFRESH_MS = 5 * 60 * 1000;

/** Whether a lock held in `mode` conflicts with the live lock `other`. */
function conflicts(mode: LockMode, other: LockInfo): boolean {
  if (mode === 'exclusive' || other.exclusive) return true;
  return mode === 'prune' && other.prune === true;
}

/** The lock objects, as the repository stores them (encrypted, content-named). */
export interface LockObjects {
  listLocks(): Promise<string[]>;
  loadLock(id: string): Promise<Buffer>;
  saveLock(payload: Buffer): Promise<string>;
  removeLock(id: string): Promise<void>;
}

/**
 * Runs `fn` under a lock. When `fn` fails, its failure is what the user
 * needs to see, not a failed unlock behind it (a lock left by a dead
 * process is ignored as stale); after success a failed unlock is reported.
 */
export async function withLock<T>(locker: Locker, mode: LockMode, onStale: (msg: string) => void, fn: (lock: Lock) => Promise<T>): Promise<T> {
  const lock = await locker.lock(mode, onStale);
  let result: T;
  try {
    result = await fn(lock);
  } catch (e) {
    await lock.release().catch(() => undefined);
    throw e;
  }
  await lock.release();
  return result;
}

export async function readLocks(store: LockObjects): Promise<{ id: string; lock?: LockInfo; stale: boolean }[]> {
  const out = [];
  for (const id of await store.listLocks()) {
    try {
      const lock = JSON.parse((await store.loadLock(id)).toString('utf8')) as LockInfo;
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

/**
 * The release of every lock this process holds, so an interrupted command
 * (Ctrl-C, SIGTERM: src/cli/interrupt.ts) removes its locks before it
 * exits; a lock being taken at that moment is waited for and released too.
 */
const heldLocks = new Set<Lock>();
const taking = new Set<Promise<unknown>>();
/** Lock files being removed: a second Ctrl-C during a clean stop's release must not exit before the removal ends. */
const releasing = new Set<Promise<unknown>>();

export async function releaseHeldLocks(): Promise<void> {
  await Promise.allSettled([...taking]);
  await Promise.allSettled([...[...heldLocks].map((l) => l.release()), ...releasing]);
}

/** Takes a lock; `onStale` hears about stale locks that were ignored (each once). */
export async function acquireLock(store: LockObjects, mode: LockMode, meta: { hostname: string; username: string }, onStale: (msg: string) => void): Promise<Lock> {
  const p = takeLock(store, mode, meta, onStale);
  taking.add(p);
  try {
    return await p;
  } finally {
    taking.delete(p);
  }
}

async function takeLock(store: LockObjects, mode: LockMode, meta: { hostname: string; username: string }, onStale: (msg: string) => void): Promise<Lock> {
  const warned = new Set<string>();
  const conflict = async () => {
    for (const l of await readLocks(store)) {
      if (l.stale) {
        if (warned.has(l.id)) continue;
        warned.add(l.id);
        onStale(`ignoring stale lock locks/${l.id}${l.lock ? ` (pid ${l.lock.pid} on ${l.lock.hostname}, ${l.lock.time})` : ''}`);
        continue;
      }
      if (l.id !== mine && conflicts(mode, l.lock!)) return l;
    }
    return undefined;
  };
  let mine = '';
  const started = new Date().toISOString();
  const kind = mode === 'prune' ? { exclusive: false, prune: true } : { exclusive: mode === 'exclusive' };
  const write = () => store.saveLock(Buffer.from(JSON.stringify({ time: new Date().toISOString(), ...meta, pid: process.pid, ...kind, started })));
  const held = await conflict();
  if (held) throw lockedError(held.lock!, held.id);
  mine = await write();
  // Re-check after writing: of two racing lockers at least one sees the other and backs off (possibly both: safe, retry later).
  const raced = await conflict();
  if (raced) {
    await store.removeLock(mine);
    throw lockedError(raced.lock!, raced.id);
  }
  const timer = setInterval(() => {
    void write().then(async (next) => {
      await store.removeLock(mine);
      mine = next;
    }).catch(() => undefined);
  }, REFRESH_MS);
  timer.unref();
  const lock: Lock = {
    id: () => mine,
    async release() {
      if (!heldLocks.delete(lock)) return; // released already (by the interrupt handler, or twice)
      clearInterval(timer);
      const removal = store.removeLock(mine);
      releasing.add(removal);
      try {
        await removal;
      } finally {
        releasing.delete(removal);
      }
    },
  };
  heldLocks.add(lock);
  return lock;
}

/**
 * restic's --retry-lock around acquireLock: while another process holds a
 * conflicting lock, try again (after 1 s, 2 s, 4 s … at most 1 min apart)
 * until `retryMs` have passed; then the LOCKED error stands. 0: no retry.
 */
export async function acquireLockRetrying(store: LockObjects, mode: LockMode, meta: { hostname: string; username: string }, onStale: (msg: string) => void, retryMs: number): Promise<Lock> {
  const deadline = Date.now() + retryMs;
  for (let wait = 1000; ; wait = Math.min(wait * 2, 60_000)) {
    try {
      return await acquireLock(store, mode, meta, onStale);
    } catch (e) {
      const left = deadline - Date.now();
      if (!isEbakError(e, 'LOCKED') || left <= 0) throw e;
      await sleep(Math.min(wait, left));
    }
  }
}

/** The live locks other than `mine` (stale ones are ignored, as by every locker). */
export async function otherLiveLocks(store: LockObjects, mine: Lock): Promise<LockInfo[]> {
  return (await readLocks(store)).filter((l) => !l.stale && l.id !== mine.id()).map((l) => l.lock!);
}

/**
 * `ebak unlock` (restic's): removes the stale locks, or with `all` every
 * lock; returns the ids removed.
 */
export async function removeLocks(store: LockObjects, all: boolean): Promise<string[]> {
  const removed: string[] = [];
  for (const l of await readLocks(store)) {
    if (!all && !l.stale) continue;
    await store.removeLock(l.id);
    removed.push(l.id);
  }
  return removed;
}

function lockedError(l: LockInfo, id: string): EbakError {
  return new EbakError('LOCKED', `repository is locked ${l.exclusive ? 'exclusively' : l.prune ? 'for a prune' : ''} by pid ${l.pid} on ${l.hostname} since ${l.time} (locks/${id})`.replace('  ', ' '), {
    hint: 'wait for that operation to finish; a lock left by a crash expires after 30 minutes',
  });
}
