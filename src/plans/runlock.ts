/**
 * One run of a plan at a time across processes: `ebak plan run` (a backup
 * or a `--drill`) and the daemon take the plan's run lock before its job
 * starts (src/cli/planrun.ts), so a drill run by hand never overlaps the
 * daemon's backup of the same plan, nor two `plan run`s each other. The
 * lock is a file beside the plan state (`plan-locks/<plan>.lock`), created
 * atomically (lockfile.ts), naming its holder's process, host, job and start;
 * a second run waits for it (and says so once), polling, until it is free
 * or the run is cancelled. A lock whose holder was a process of this host
 * that no longer exists is stale and taken over (by lockfile.ts's
 * compare-and-delete: two takers never both run); one from another host is
 * never guessed dead.
 */
import { dirname } from 'node:path';
import { EbakError } from '../errors.js';
import { makeDirs } from '../util/fs.js';
import { isStale, newHolder, readHolder, reap, release, tryCreate, type LockHolder } from './lockfile.js';
import { systemClock, type Job } from './scheduler.js';

export interface RunLockHolder extends LockHolder {
  job: Job;
}

export interface RunLockOptions {
  signal: AbortSignal;
  /** Told once, when the lock is held by another run. */
  onWait?: (holder: RunLockHolder) => void;
  /** Between two looks at a held lock (default 1 s). */
  pollMs?: number;
}

export class PlanRunLock {
  private constructor(private readonly path: string, private readonly holder: RunLockHolder) {}

  /** Waits until the plan's lock is free, then holds it; CANCELLED when `signal` aborts first. */
  static async acquire(path: string, job: Job, opts: RunLockOptions): Promise<PlanRunLock> {
    await makeDirs(dirname(path));
    const me: RunLockHolder = newHolder({ job });
    let told = false;
    for (;;) {
      if (opts.signal.aborted) throw new EbakError('CANCELLED', `cancelled while waiting for ${path}`);
      if (tryCreate(path, me)) return new PlanRunLock(path, me);
      const holder = readHolder<RunLockHolder>(path);
      if (holder && isStale(holder)) {
        reap(path, holder, me);
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
    release(this.path, this.holder);
  }
}
