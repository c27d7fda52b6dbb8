/**
 * What plans report (src/plans/report.ts) once drills are recorded: the
 * last drill beside the last backup in `plan status`, drills kept out of
 * the RPO check, and the metrics a drill adds (its time, restore time,
 * bytes, files, verdict) and counts (a failed drill is a failure).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSchedule } from '../../src/plans/cron.js';
import type { Plan } from '../../src/plans/plan.js';
import { metrics, planStatus } from '../../src/plans/report.js';
import type { RunRecord } from '../../src/plans/state.js';

const plan: Plan = { name: 'p', repository: '/r', sources: ['/s'], excludes: [], tags: [], schedule: parseSchedule('0 * * * *', 'schedule', 'UTC'), timezone: 'UTC', window: {}, copies: [] };
const T0 = Date.parse('2024-03-01T00:00:00Z');
const H = 3_600_000;
const at = (t: number) => new Date(t).toISOString();
const backup = (t: number): RunRecord => ({ scheduled: at(t), started: at(t), ms: 1000, ok: true, snapshot: 'ab', bytes_added: 10 });
const drill = (t: number, verified: boolean): RunRecord => ({
  scheduled: at(t), started: at(t), ms: 3000, ok: verified, snapshot: 'ab', ...(verified ? {} : { error: 'drill: /s/x: authentication failed' }),
  drill: { snapshot: 'ab', files: 4, bytes: 2048, ms: 2000, verified },
});
const lines = (runs: RunRecord[], now: number) => metrics([planStatus(plan, runs, now, 1)], new Map([['p', runs]])).split('\n');
const value = (m: string[], name: string) => m.find((l) => l.startsWith(`${name}{`))?.split(' ')[1];

describe('plan reports with drills', () => {
  it('status: the last drill beside the last backup; drills are not schedule slots', () => {
    const runs = [backup(T0 + H), backup(T0 + 2 * H), drill(T0 + 2 * H + 60_000, false)];
    const s = planStatus(plan, runs, T0 + 2 * H + 120_000, 1);
    assert.equal(s.last_run!.drill, undefined);
    assert.equal(s.last_success, at(T0 + 2 * H));
    assert.deepEqual(s.last_drill, { snapshot: 'ab', files: 4, bytes: 2048, ms: 2000, verified: false, at: at(T0 + 2 * H + 60_000), error: 'drill: /s/x: authentication failed' });
    assert.deepEqual(s.rpo, { days: 1, slots: 2, met: 2, ok: true });
    assert.equal(s.next_drill, null, 'no restore_test');
    const drilled = { ...plan, restoreTest: { schedule: parseSchedule('@daily', 'restore_test.schedule', 'UTC') } };
    assert.equal(planStatus(drilled, runs, T0 + 3 * H, 1).next_drill, '2024-03-02T00:00:00.000Z');
    assert.equal(planStatus(drilled, runs, T0 + 3 * H, 1, { run: T0 + 4 * H, drill: T0 + 5 * H }).next_drill, at(T0 + 5 * H), 'the daemon\'s own times');
    // A drill that ran at a backup slot does not stand for the backup.
    const missed = planStatus(plan, [backup(T0 + H), drill(T0 + 2 * H, true)], T0 + 2 * H + 60_000, 1);
    assert.deepEqual(missed.rpo, { days: 1, slots: 2, met: 1, ok: false });
  });

  it('metrics: a drill adds its lines, and a failed one counts as a failure', () => {
    const before = lines([backup(T0 + H)], T0 + H + 1);
    assert.equal(value(before, 'ebak_plan_last_drill_timestamp_seconds'), undefined);
    assert.equal(value(before, 'ebak_plan_failures_total'), '0');
    const ok = lines([backup(T0 + H), drill(T0 + H + 1000, true)], T0 + H + 2000);
    assert.equal(value(ok, 'ebak_plan_last_drill_timestamp_seconds'), String((T0 + H + 1000) / 1000));
    assert.equal(value(ok, 'ebak_plan_last_drill_success'), '1');
    assert.equal(value(ok, 'ebak_plan_last_drill_restore_seconds'), '2');
    assert.equal(value(ok, 'ebak_plan_last_drill_bytes'), '2048');
    assert.equal(value(ok, 'ebak_plan_last_drill_files'), '4');
    assert.equal(value(ok, 'ebak_plan_last_run_duration_seconds'), '1', 'the last run is the backup');
    const failed = lines([backup(T0 + H), drill(T0 + H + 1000, true), drill(T0 + H + 5000, false)], T0 + H + 6000);
    assert.equal(value(failed, 'ebak_plan_last_drill_success'), '0');
    assert.equal(value(failed, 'ebak_plan_failures_total'), '1');
    assert.equal(value(failed, 'ebak_plan_runs_total'), '3');
  });
});
