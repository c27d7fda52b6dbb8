/**
 * The daemon's clock work: when each plan runs, never two runs of one plan
 * at once, a run that cannot start inside its window skipped and reported,
 * one that overruns cancelled, and after downtime (a laptop asleep, the
 * daemon stopped) a missed schedule run once, not once per missed slot.
 * The clock is injected, so the rules are tested without waiting.
 */
import { EbakError } from '../errors.js';
import { formatElapsed } from './elapsed.js';
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

export type SchedulerEvent =
  | { event: 'run.start'; plan: string; scheduled: number; missed: number }
  | { event: 'run.skipped'; plan: string; scheduled: number; reason: 'window' | 'running' }
  | { event: 'run.end'; plan: string; scheduled: number; ok: boolean; ms: number; error?: string };

/** Runs one plan once; the signal aborts when the daemon stops or the plan's window closes. */
export type RunPlan = (plan: Plan, signal: AbortSignal, scheduled: number) => Promise<void>;

/** What the scheduler remembers between runs of the daemon: the last slot each plan was due. */
export interface ScheduleMemory {
  lastDue(plan: string): number | undefined;
  setLastDue(plan: string, at: number): void;
}

export class Scheduler {
  private readonly running = new Map<string, Promise<void>>();
  private readonly due = new Map<string, number>();

  constructor(
    private readonly plans: readonly Plan[],
    private readonly runPlan: RunPlan,
    private readonly clock: Clock,
    private readonly memory: ScheduleMemory,
    private readonly log: (e: SchedulerEvent) => void,
  ) {
    const now = clock.now();
    for (const p of plans) this.due.set(p.name, p.schedule.next(memory.lastDue(p.name) ?? now) ?? Infinity);
  }

  /** When the plan next runs (ms), or undefined when never. */
  nextRun(plan: string): number | undefined {
    const t = this.due.get(plan);
    return t === undefined || t === Infinity ? undefined : t;
  }

  /** Until `signal` aborts: sleeps to the next due plan, starts every plan due. Resolves once running plans have stopped. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const next = Math.min(...this.due.values());
      if (next === Infinity) break;
      const wait = next - this.clock.now();
      if (wait > 0) await this.clock.sleep(wait, signal);
      if (!signal.aborted) this.startDue(signal);
    }
    await Promise.allSettled(this.running.values());
  }

  /** Every plan whose time has come: started, skipped (window, or still running), and its next slot set. */
  startDue(signal: AbortSignal): void {
    const now = this.clock.now();
    for (const plan of this.plans) {
      const scheduled = this.due.get(plan.name)!;
      if (scheduled > now) continue;
      const missed = this.slotsBetween(plan, scheduled, now);
      this.due.set(plan.name, plan.schedule.next(now) ?? Infinity);
      this.memory.setLastDue(plan.name, scheduled);
      if (this.running.has(plan.name)) this.log({ event: 'run.skipped', plan: plan.name, scheduled, reason: 'running' });
      else if (plan.window.startWithin !== undefined && now - scheduled > plan.window.startWithin) this.log({ event: 'run.skipped', plan: plan.name, scheduled, reason: 'window' });
      else this.start(plan, scheduled, missed, signal);
    }
  }

  /** How many later slots also passed while nothing ran (reported, not run: one run catches up). */
  private slotsBetween(plan: Plan, from: number, now: number): number {
    let n = 0;
    for (let t = plan.schedule.next(from); t !== undefined && t <= now && n < 1000; t = plan.schedule.next(t)) n++;
    return n;
  }

  private start(plan: Plan, scheduled: number, missed: number, stop: AbortSignal): void {
    const started = this.clock.now();
    const finished = new AbortController();
    this.log({ event: 'run.start', plan: plan.name, scheduled, missed });
    const run = this.runPlan(plan, this.windowSignal(plan, stop, finished.signal), scheduled).then(
      () => this.log({ event: 'run.end', plan: plan.name, scheduled, ok: true, ms: this.clock.now() - started }),
      (e: unknown) => this.log({ event: 'run.end', plan: plan.name, scheduled, ok: false, ms: this.clock.now() - started, error: (e as Error)?.message ?? String(e) }),
    ).finally(() => {
      finished.abort();
      this.running.delete(plan.name);
    });
    this.running.set(plan.name, run);
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
