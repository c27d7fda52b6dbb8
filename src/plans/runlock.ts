/**
 * One run of a plan at a time across processes: `ebak plan run` (a backup
 * or a `--drill`) and the daemon take the plan's run lock before its job
 * starts (src/cli/planrun.ts), so a drill run by hand never overlaps the
 * daemon's backup of the same plan, nor two `plan run`s each other. The
 * lock is a file beside the plan state (`plan-locks/<plan>.lock`), created
 * exclusively (O_EXCL), naming its holder's process, host, job and start;
 * a second run waits for it (and says so once), polling, until it is free
 * or the run is cancelled. A lock whose holder was a process of this host
 * that no longer exists is stale and taken over; one from another host is
 * never guessed dead.
 */
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { EbakError } from '../errors.js';
import { makeDirs } from '../util/fs.js';
import { systemClock, type Job } from './scheduler.js';

export interface RunLockHolder {
  pid: number;
  host: string;
  job: Job;
  started: string;
}

export interface RunLockOptions {
  signal: AbortSignal;
  /** Told once, when the lock is held by another run. */
  onWait?: (holder: RunLockHolder) => void;
  /** Between two looks at a held lock (default 1 s). */
  pollMs?: number;
}

export class PlanRunLock {
  private constructor(private readonly path: string) {}

  /** Waits until the plan's lock is free, then holds it; CANCELLED when `signal` aborts first. */
  static async acquire(path: string, job: Job, opts: RunLockOptions): Promise<PlanRunLock> {
    await makeDirs(dirname(path));
    const me: RunLockHolder = { pid: process.pid, host: hostname(), job, started: new Date().toISOString() };
    let told = false;
    for (;;) {
      if (opts.signal.aborted) throw new EbakError('CANCELLED', `cancelled while waiting for ${path}`);
      if (tryCreate(path, me)) return new PlanRunLock(path);
      const holder = readHolder(path);
      if (holder && isStale(holder)) {
        unlinkQuietly(path);
        continue;
      }
      if (holder && !told) {
        opts.onWait?.(holder);
        told = true;
      }
      await systemClock.sleep(opts.pollMs ?? 1000, opts.signal);
    }
  }

  release(): void {
    unlinkQuietly(this.path);
  }
}

function tryCreate(path: string, me: RunLockHolder): boolean {
  try {
    writeFileSync(path, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new EbakError('IO', `${path}: ${(e as Error).message}`);
  }
}

/** The holder, or undefined when the file is gone or half-written (its writer is between create and write: wait). */
function readHolder(path: string): RunLockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as RunLockHolder;
    return Number.isSafeInteger(h.pid) && typeof h.host === 'string' ? h : undefined;
  } catch {
    return undefined;
  }
}

/** A process of this host that is gone (signal 0 checks existence: ESRCH). */
function isStale(h: RunLockHolder): boolean {
  if (h.host !== hostname()) return false;
  try {
    process.kill(h.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new EbakError('IO', `${path}: ${(e as Error).message}`);
  }
}
