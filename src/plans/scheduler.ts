/**
 * The daemon's clock work: when each plan runs, never two runs of one plan
 * at once, a run that cannot start inside its window skipped and reported,
 * one that overruns cancelled, and after downtime (a laptop asleep, the
 * daemon stopped) a missed schedule run once, not once per missed slot.
 * A plan's restore drill runs on its own schedule, never beside the plan's
 * backup: one that comes due while the other runs waits for it.
 * The clock is injected, so the rules are tested without waiting.
 */
import { EbakError } from '../errors.js';
import { formatElapsed } from './elapsed.js';
import type { Schedule } from './cron.js';
import type { Plan } from './plan.js';

export interface Clock {
  now(): number;
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => new Promise((resolve) => {
    const t = setTimeout(done, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  }),
};

/** What a plan runs: its backup (backup, retention, copies) on `schedule`, its restore drill on `restore_test.schedule`. */
export type Job = 'backup' | 'drill';

/** Drill events carry `drill: true`; backup events are as they always were. */
type JobTag = { drill?: true };

export type SchedulerEvent =
  | ({ event: 'run.start'; plan: string; scheduled: number; missed: number } & JobTag)
  | ({ event: 'run.skipped'; plan: string; scheduled: number; reason: 'window' | 'running' } & JobTag)
  | ({ event: 'run.end'; plan: string; scheduled: number; ok: boolean; ms: number; error?: string } & JobTag);

/** Runs one job of a plan once; the signal aborts when the daemon stops or the plan's window closes. */
export type RunPlan = (plan: Plan, signal: AbortSignal, scheduled: number, job: Job) => Promise<void>;

/** What the scheduler remembers between runs of the daemon: the last slot each job of each plan was due. */
export interface ScheduleMemory {
  lastDue(plan: string, job: Job): number | undefined;
  setLastDue(plan: string, at: number, job: Job): void;
}

interface Slot {
  readonly plan: Plan;
  readonly job: Job;
  readonly schedule: Schedule;
}

interface Waiting {
  slot: Slot;
  scheduled: number;
  missed: number;
}

export class Scheduler {
  /** The job each plan runs now: one at a time per plan, a backup and a drill never side by side. */
  private readonly running = new Map<string, { job: Job; done: Promise<void> }>();
  /** A job that came due while the plan's other job ran: it starts when that one ends. */
  private readonly waiting = new Map<string, Waiting>();
  private readonly slots: Slot[];
  private readonly due = new Map<Slot, number>();

  constructor(
    plans: readonly Plan[],
    private readonly runPlan: RunPlan,
    private readonly clock: Clock,
    private readonly memory: ScheduleMemory,
    private readonly log: (e: SchedulerEvent) => void,
  ) {
    const now = clock.now();
    this.slots = plans.flatMap((plan): Slot[] => [
      { plan, job: 'backup', schedule: plan.schedule },
      ...(plan.restoreTest ? [{ plan, job: 'drill' as const, schedule: plan.restoreTest.schedule }] : []),
    ]);
    for (const s of this.slots) this.due.set(s, s.schedule.next(memory.lastDue(s.plan.name, s.job) ?? now) ?? Infinity);
  }

  /** When the plan's job next runs (ms), or undefined when never. */
  nextRun(plan: string, job: Job = 'backup'): number | undefined {
    const slot = this.slots.find((s) => s.plan.name === plan && s.job === job);
    const t = slot && this.due.get(slot);
    return t === undefined || t === Infinity ? undefined : t;
  }

  /** Until `signal` aborts: sleeps to the next due job, starts every job due. Resolves once running jobs have stopped. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const next = Math.min(...this.due.values());
      if (next === Infinity) break;
      const wait = next - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait, signal);
      if (!signal.aborted) this.startDue(signal);
    }
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Every job whose time has come: started, skipped (window, or still running), or left waiting for the plan's other job; its next slot set. */
  startDue(signal: AbortSignal): void {
    const now = this.clock.now();
    for (const slot of this.slots) {
      const scheduled = this.due.get(slot)!;
      if (scheduled > now) continue;
      const missed = this.slotsBetween(slot.schedule, scheduled, now);
      this.due.set(slot, slot.schedule.next(now) ?? Infinity);
      this.memory.setLastDue(slot.plan.name, scheduled, slot.job);
      const busy = this.running.get(slot.plan.name);
      if (busy?.job === slot.job || (busy && this.waiting.has(slot.plan.name))) this.log({ event: 'run.skipped', plan: slot.plan.name, scheduled, reason: 'running', ...tag(slot.job) });
      else if (busy) this.waiting.set(slot.plan.name, { slot, scheduled, missed });
      else this.startInWindow({ slot, scheduled, missed }, signal);
    }
  }

  /** How many later slots also passed while nothing ran (reported, not run: one run catches up). */
  private slotsBetween(schedule: Schedule, from: number, now: number): number {
    let n = 0;
    for (let t = schedule.next(from); t !== undefined && t <= now && n < 1000; t = schedule.next(t)) n++;
    return n;
  }

  /** A backup that cannot start within start_within of its slot is skipped (a drill has no window). */
  private startInWindow(w: Waiting, stop: AbortSignal): void {
    const { plan, job } = w.slot;
    if (job === 'backup' && plan.window.startWithin !== undefined && this.clock.now() - w.scheduled > plan.window.startWithin) {
      this.log({ event: 'run.skipped', plan: plan.name, scheduled: w.scheduled, reason: 'window' });
    } else this.start(w, stop);
  }

  private start({ slot: { plan, job }, scheduled, missed }: Waiting, stop: AbortSignal): void {
    const started = this.clock.now();
    const finished = new AbortController();
    this.log({ event: 'run.start', plan: plan.name, scheduled, missed, ...tag(job) });
    const signal = job === 'backup' ? this.windowSignal(plan, stop, finished.signal) : stop;
    const done = this.runPlan(plan, signal, scheduled, job).then(
      () => this.log({ event: 'run.end', plan: plan.name, scheduled, ok: true, ms: this.clock.now() - started, ...tag(job) }),
      (e: unknown) => this.log({ event: 'run.end', plan: plan.name, scheduled, ok: false, ms: this.clock.now() - started, error: (e as Error)?.message ?? String(e), ...tag(job) }),
    ).finally(() => {
      finished.abort();
      this.running.delete(plan.name);
      const next = this.waiting.get(plan.name);
      this.waiting.delete(plan.name);
      if (next && !stop.aborted) this.startInWindow(next, stop);
    });
    this.running.set(plan.name, { job, done });
  }

  /** Aborts when the daemon stops, or (on the injected clock) when the plan's complete_within has passed. */
  private windowSignal(plan: Plan, stop: AbortSignal, finished: AbortSignal): AbortSignal {
    const limit = plan.window.completeWithin;
    if (limit === undefined) return stop;
    const closed = new AbortController();
    void this.clock.sleep(limit, AbortSignal.any([stop, finished])).then(() => {
      if (!stop.aborted && !finished.aborted) closed.abort(new EbakError('CANCELLED', `plan ${plan.name}: its window of ${formatElapsed(limit)} closed; the run was cancelled (what it saved is reused next time)`));
    });
    return AbortSignal.any([stop, closed.signal]);
  }
}

const tag = (job: Job): JobTag => (job === 'drill' ? { drill: true } : {});
