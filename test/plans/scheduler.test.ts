/**
 * The scheduler (src/plans/scheduler.ts) on an injected clock: plans run at
 * their slots, never two runs of one plan at once, a run that cannot start
 * inside its window is skipped, one that overruns is cancelled, and after
 * downtime a missed schedule runs once; a failing run is reported and the
 * schedule goes on. A plan's restore drill runs on its
 * own schedule and never beside the plan's backup.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSchedule } from '../../src/plans/cron.js';
import type { Plan } from '../../src/plans/plan.js';
import { Scheduler, type Clock, type Job, type ScheduleMemory, type SchedulerEvent } from '../../src/plans/scheduler.js';

/** Time moves only when the test says so; sleepers wake in deadline order. */
class FakeClock implements Clock {
  private sleepers: { at: number; wake: () => void }[] = [];
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const s = { at: this.t + ms, wake: resolve };
      this.sleepers.push(s);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  /** Advances to `to`, waking every sleeper due on the way, with the microtasks between. */
  async advance(to: number): Promise<void> {
    for (;;) {
      await flush();
      const due = this.sleepers.filter((s) => s.at <= to).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.t = Math.max(this.t, due.at);
      this.sleepers = this.sleepers.filter((s) => s !== due);
      due.wake();
    }
    this.t = to;
    await flush();
  }
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

function plan(name: string, schedule: string, window: Plan['window'] = {}): Plan {
  return { name, repository: '/r', sources: ['/s'], excludes: [], tags: [], schedule: parseSchedule(schedule, 'schedule', 'UTC'), timezone: 'UTC', window, copies: [] };
}

function memory(initial: Record<string, number> = {}): ScheduleMemory & { seen: Record<string, number> } {
  const seen = { ...initial };
  const key = (p: string, job: Job) => (job === 'drill' ? `${p} drill` : p);
  return { seen, lastDue: (p, job) => seen[key(p, job)], setLastDue: (p, at, job) => void (seen[key(p, job)] = at) };
}

function withDrill(p: Plan, schedule: string): Plan {
  return { ...p, restoreTest: { schedule: parseSchedule(schedule, 'restore_test.schedule', 'UTC') } };
}

const T0 = Date.parse('2024-03-01T00:00:00Z');
const MIN = 60_000;

describe('scheduler', () => {
  it('runs each plan at its slots', async () => {
    const clock = new FakeClock(T0);
    const ran: [string, number][] = [];
    const s = new Scheduler([plan('a', '*/10 * * * *'), plan('b', '@every 25m')], async (p, _sig, at) => void ran.push([p.name, (at - T0) / MIN]), clock, memory(), () => {});
    const stop = new AbortController();
    const loop = s.run(stop.signal);
    await clock.advance(T0 + 60 * MIN);
    stop.abort();
    await loop;
    assert.deepEqual(ran.filter(([n]) => n === 'a').map(([, m]) => m), [10, 20, 30, 40, 50, 60]);
    assert.deepEqual(ran.filter(([n]) => n === 'b').map(([, m]) => m), [25, 50]);
  });

  it('survives a failing run: the failure is reported (run.end, ok false) and the next slots still run', async () => {
    const clock = new FakeClock(T0);
    const events: SchedulerEvent[] = [];
    let n = 0;
    const s = new Scheduler([plan('a', '*/10 * * * *')], async () => {
      if (n++ === 0) throw new Error('the first run fails');
    }, clock, memory(), (e) => events.push(e));
    const stop = new AbortController();
    const loop = s.run(stop.signal);
    await clock.advance(T0 + 30 * MIN);
    stop.abort();
    await loop;
    const ends = events.filter((e) => e.event === 'run.end') as Extract<SchedulerEvent, { event: 'run.end' }>[];
    assert.deepEqual(ends.map((e) => [(e.scheduled - T0) / MIN, e.ok]), [[10, false], [20, true], [30, true]]);
    assert.equal(ends[0]!.error, 'the first run fails');
  });

  it('never runs one plan twice at once: a slot reached while it runs is skipped and reported', async () => {
    const clock = new FakeClock(T0);
    const events: SchedulerEvent[] = [];
    let release!: () => void;
    const s = new Scheduler([plan('slow', '@every 1m')], () => new Promise<void>((r) => (release = r)), clock, memory(), (e) => events.push(e));
    const stop = new AbortController();
    const loop = s.run(stop.signal);
    await clock.advance(T0 + 3 * MIN);
    assert.deepEqual(events.map((e) => e.event), ['run.start', 'run.skipped', 'run.skipped']);
    assert.equal((events[1] as { reason: string }).reason, 'running');
    release();
    stop.abort();
    await loop;
    assert.equal(events.at(-1)!.event, 'run.end');
  });

  it('after downtime, a missed schedule runs once (not once per missed slot), and says how many it missed', async () => {
    const events: SchedulerEvent[] = [];
    const clock = new FakeClock(T0 + 5 * 60 * MIN); // the daemon was down five hours
    const ran: number[] = [];
    const mem = memory({ hourly: T0 });
    const s = new Scheduler([plan('hourly', '0 * * * *')], async (_p, _s, at) => void ran.push(at), clock, mem, (e) => events.push(e));
    const stop = new AbortController();
    const loop = s.run(stop.signal);
    await clock.advance(T0 + 5 * 60 * MIN + 30 * MIN);
    stop.abort();
    await loop;
    assert.deepEqual(ran, [T0 + 60 * MIN], 'one catch-up run, for the first missed slot');
    assert.equal((events[0] as { missed: number }).missed, 4, 'the four later slots it stands for');
    assert.equal(mem.seen.hourly, T0 + 60 * MIN);
  });

  it('a run that cannot start inside start_within is skipped; one that overruns complete_within is cancelled', async () => {
    const events: SchedulerEvent[] = [];
    const clock = new FakeClock(T0 + 3 * 60 * MIN);
    const late = new Scheduler([plan('late', '0 * * * *', { startWithin: 10 * MIN })], async () => {}, clock, memory({ late: T0 }), (e) => events.push(e));
    late.startDue(new AbortController().signal);
    assert.deepEqual(events.map((e) => [e.event, (e as { reason?: string }).reason]), [['run.skipped', 'window']]);

    events.length = 0;
    const clock2 = new FakeClock(T0);
    let aborted: unknown;
    const hang = (_p: Plan, signal: AbortSignal) => new Promise<void>((_r, reject) => {
      signal.addEventListener('abort', () => reject((aborted = signal.reason)));
    });
    const long = new Scheduler([plan('long', '@every 1h', { completeWithin: 5 * MIN })], hang, clock2, memory(), (e) => events.push(e));
    const stop = new AbortController();
    const loop = long.run(stop.signal);
    await clock2.advance(T0 + 60 * MIN + 6 * MIN);
    assert.match(String((aborted as Error)?.message), /window of 5m closed/);
    const end = events.find((e) => e.event === 'run.end') as { ok: boolean; ms: number };
    assert.equal(end.ok, false);
    assert.equal(end.ms, 5 * MIN);
    stop.abort();
    await loop;
  });

  it('stopping the daemon aborts the running plan and waits for it', async () => {
    const clock = new FakeClock(T0);
    let stopped = false;
    const s = new Scheduler([plan('a', '@every 1m')], (_p, signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => { stopped = true; resolve(); })), clock, memory(), () => {});
    const stop = new AbortController();
    const loop = s.run(stop.signal);
    await clock.advance(T0 + MIN);
    stop.abort();
    await loop;
    assert.ok(stopped);
  });

  it('runs a plan\'s restore drill on its own schedule, remembered apart from the backup\'s', async () => {
    const clock = new FakeClock(T0);
    const ran: [Job, number][] = [];
    const events: SchedulerEvent[] = [];
    const mem = memory();
    const s = new Scheduler([withDrill(plan('a', '@every 10m'), '@every 25m')], async (_p, _s, at, job) => void ran.push([job, (at - T0) / MIN]), clock, mem, (e) => events.push(e));
    const stop = new AbortController();
    const loop = s.run(stop.signal);
    await clock.advance(T0 + 60 * MIN);
    stop.abort();
    await loop;
    assert.deepEqual(ran.filter(([j]) => j === 'drill').map(([, m]) => m), [25, 50]);
    assert.deepEqual(ran.filter(([j]) => j === 'backup').map(([, m]) => m), [10, 20, 30, 40, 50, 60]);
    assert.ok(events.filter((e) => e.drill).length === 4 && events.filter((e) => e.drill).every((e) => e.event !== 'run.skipped'));
    assert.equal(mem.seen['a drill'], T0 + 50 * MIN);
    assert.equal(mem.seen.a, T0 + 60 * MIN);
    assert.equal(s.nextRun('a', 'drill'), T0 + 75 * MIN);
  });

  it('a drill due while the backup runs waits for it (never side by side), and the other way round', async () => {
    const clock = new FakeClock(T0);
    const events: SchedulerEvent[] = [];
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const job = () => new Promise<void>((r) => {
      most = Math.max(most, ++running);
      release.push(() => { running--; r(); });
    });
    const s = new Scheduler([withDrill(plan('a', '0 * * * *'), '0 * * * *')], job, clock, memory(), (e) => events.push(e));
    const stop = new AbortController();
    const loop = s.run(stop.signal);
    await clock.advance(T0 + 60 * MIN);
    assert.deepEqual(events.map((e) => [e.event, e.drill ?? false]), [['run.start', false]], 'the drill waits');
    release.shift()!();
    await clock.advance(T0 + 61 * MIN);
    assert.deepEqual(events.map((e) => [e.event, e.drill ?? false]), [['run.start', false], ['run.end', false], ['run.start', true]]);
    await clock.advance(T0 + 120 * MIN); // both due again: the drill still runs, so the backup waits and the drill is skipped
    assert.deepEqual(events.slice(3).map((e) => [e.event, e.drill ?? false]), [['run.skipped', true]]);
    release.shift()!();
    await clock.advance(T0 + 121 * MIN);
    assert.deepEqual(events.slice(4).map((e) => [e.event, e.drill ?? false]), [['run.end', true], ['run.start', false]]);
    assert.equal(most, 1, 'one job of the plan at a time');
    release.shift()!();
    stop.abort();
    await loop;
  });
});
