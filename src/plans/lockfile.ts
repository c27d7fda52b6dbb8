/**
 * Lock files shared by processes: the plan run lock (runlock.ts) and the
 * state file's write lock (state.ts). Two things must be atomic, and are:
 *
 * - Taking a lock: the holder (pid, host, start, a random nonce) is
 *   written whole to a private name and hard-linked to the lock's name;
 *   link(2) fails when the name exists, so exactly one process wins, and no
 *   reader ever sees a half-written holder.
 * - Taking over a stale lock (its holder a process of this host that is
 *   gone): unlinking it is a compare-and-delete. The taker first creates a
 *   claim named after the stale holder (`<lock>.reap-<id>`, by link, as
 *   above), then removes the lock only if it still names that holder, then
 *   the claim. Only the claim's one creator may remove the stale lock, and
 *   none can remove a lock taken meanwhile by a live process (the
 *   check-then-unlink of two takers used to remove the new holder's lock,
 *   and both ran). A claim left by a taker that died in it is itself stale:
 *   it is taken over the same way, one level down.
 *
 * A lock from another host is never guessed dead.
 */
import { createHash, randomBytes } from 'node:crypto';
import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { EbakError } from '../errors.js';

export interface LockHolder {
  pid: number;
  host: string;
  started: string;
  /** Tells holders of one process apart (absent in locks written before it). */
  nonce?: string;
}

/** This process as a new holder, with `extra` recorded beside it. */
export function newHolder<T extends object>(extra: T): LockHolder & T {
  return { ...extra, pid: process.pid, host: hostname(), started: new Date().toISOString(), nonce: randomBytes(8).toString('hex') };
}

/** Creates `path` naming `holder`, whole or not at all; false when the lock exists. */
export function tryCreate(path: string, holder: LockHolder): boolean {
  const tmp = `${path}.${holder.nonce ?? randomBytes(8).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, JSON.stringify(holder), { mode: 0o600 });
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new EbakError('IO', `${path}: ${(e as Error).message}`);
  } finally {
    unlinkQuietly(tmp);
  }
}

/** The holder `path` names, or undefined when it is gone or unreadable. */
export function readHolder<T extends LockHolder>(path: string): T | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as T;
    return Number.isSafeInteger(h.pid) && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** A process of this host that is gone (signal 0 checks existence: ESRCH). */
export function isStale(h: LockHolder): boolean {
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * `fn` under the lock `path`, a short critical section (the state file's
 * read-merge-write): waited for, polling every few milliseconds, for at
 * most `waitMs`; a stale lock is taken over.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, waitMs = 30_000): Promise<T> {
  const me = newHolder({});
  const until = Date.now() + waitMs;
  while (!tryCreate(path, me)) {
    const holder = readHolder(path);
    if (holder && isStale(holder)) reap(path, holder, me);
    else if (Date.now() > until) throw new EbakError('LOCKED', `${path} is held by process ${holder?.pid ?? '?'} on ${holder?.host ?? '?'} (since ${holder?.started ?? '?'})`, { hint: 'remove it if that process is gone' });
    else await sleep(5);
  }
  try {
    return await fn();
  } finally {
    release(path, me);
  }
}

/** Removes `path` if it still names the stale holder `stale` (see the header); the caller then tries to take it again. */
export function reap(path: string, stale: LockHolder, me: LockHolder): void {
  const claim = `${path}.reap-${identity(stale)}`;
  if (tryCreate(claim, me)) {
    try {
      if (sameHolder(readHolder(path), stale)) unlinkQuietly(path);
    } finally {
      unlinkQuietly(claim);
    }
    return;
  }
  const claimer = readHolder(claim);
  if (claimer && isStale(claimer)) reap(claim, claimer, me);
}

/** Removes `path` if `holder` still holds it (a lock taken over is left to its new holder). */
export function release(path: string, holder: LockHolder): void {
  if (sameHolder(readHolder(path), holder)) unlinkQuietly(path);
}

function sameHolder(a: LockHolder | undefined, b: LockHolder): boolean {
  return a !== undefined && a.pid === b.pid && a.host === b.host && a.started === b.started && a.nonce === b.nonce;
}

function identity(h: LockHolder): string {
  return createHash('sha256').update(JSON.stringify([h.pid, h.host, h.started, h.nonce ?? null])).digest('hex').slice(0, 16);
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new EbakError('IO', `${path}: ${(e as Error).message}`);
  }
}
