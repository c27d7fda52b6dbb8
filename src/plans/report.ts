/**
 * What plans report: `ebak plan status` (per plan: last run, outcome,
 * duration, next run, last restore drill, and whether every schedule slot of
 * the last N days had a successful run — the auditor's RPO question) and the
 * daemon's Prometheus metrics, both computed from the state file.
 */
import type { Plan } from './plan.js';
import type { DrillRecord, RunRecord } from './state.js';

export interface PlanStatus {
  plan: string;
  schedule: string;
  next_run: string | null;
  /** When the restore drill runs next (null: the plan has no restore_test). */
  next_drill: string | null;
  /** The last backup run (drills are in last_drill). */
  last_run: RunRecord | null;
  last_success: string | null;
  /** The last restore drill: when, what it restored and verified, how fast, and (failed) why. */
  last_drill: (DrillRecord & { at: string; error?: string }) | null;
  /** Schedule slots in the last `days` days, and how many had a successful run (RPO met when equal). */
  rpo: { days: number; slots: number; met: number; ok: boolean };
}

const DAY = 86_400_000;

/** The scheduler's next times (the daemon knows them); without them, the schedules' next slots from now. */
export interface NextRuns {
  run?: number | undefined;
  drill?: number | undefined;
}

const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());

export function planStatus(plan: Plan, runs: readonly RunRecord[], now: number, days: number, next: NextRuns = {}): PlanStatus {
  const nextRun = 'run' in next ? next.run : plan.schedule.next(now);
  const nextDrill = 'drill' in next ? next.drill : plan.restoreTest?.schedule.next(now);
  const backups = runs.filter((r) => !r.drill);
  const last = backups.at(-1) ?? null;
  const success = [...backups].reverse().find((r) => r.ok);
  const drill = [...runs].reverse().find((r) => r.drill);
  const okSlots = new Set(backups.filter((r) => r.ok).map((r) => Date.parse(r.scheduled)));
  let slots = 0;
  let met = 0;
  // Slots before the first recorded run do not count: the plan did not exist yet.
  const first = backups.length ? Date.parse(backups[0]!.scheduled) : now;
  for (let t = plan.schedule.next(Math.max(now - days * DAY, first - 1)); t !== undefined && t <= now && slots < 100_000; t = plan.schedule.next(t)) {
    slots++;
    if (okSlots.has(t)) met++;
  }
  return {
    plan: plan.name, schedule: plan.schedule.text,
    next_run: iso(nextRun), next_drill: iso(nextDrill),
    last_run: last, last_success: success?.started ?? null,
    last_drill: drill?.drill ? { ...drill.drill, at: drill.started, ...(drill.error ? { error: drill.error } : {}) } : null,
    rpo: { days, slots, met, ok: met === slots },
  };
}

/** The Prometheus text exposition format (version 0.0.4). */
export function metrics(statuses: readonly PlanStatus[], runs: ReadonlyMap<string, readonly RunRecord[]>): string {
  const out: string[] = [];
  const gauge = (name: string, help: string, type: 'gauge' | 'counter', value: (s: PlanStatus) => number | undefined) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const s of statuses) {
      const v = value(s);
      if (v !== undefined && Number.isFinite(v)) out.push(`${name}{plan="${s.plan.replace(/["\\\n]/g, '_')}"} ${v}`);
    }
  };
  const seconds = (iso: string | null | undefined) => (iso ? Date.parse(iso) / 1000 : undefined);
  gauge('ebak_plan_last_success_timestamp_seconds', 'When the last successful run of the plan started.', 'gauge', (s) => seconds(s.last_success));
  gauge('ebak_plan_last_run_duration_seconds', 'How long the last run took.', 'gauge', (s) => (s.last_run ? s.last_run.ms / 1000 : undefined));
  gauge('ebak_plan_last_run_bytes_added', 'Bytes the last run added to the repository.', 'gauge', (s) => s.last_run?.bytes_added);
  gauge('ebak_plan_runs_total', 'Runs (backups and drills) recorded for the plan.', 'counter', (s) => runs.get(s.plan)?.length ?? 0);
  gauge('ebak_plan_failures_total', 'Failed runs (backups and drills) recorded for the plan.', 'counter', (s) => runs.get(s.plan)?.filter((r) => !r.ok).length ?? 0);
  gauge('ebak_plan_next_run_timestamp_seconds', 'When the plan runs next.', 'gauge', (s) => seconds(s.next_run));
  gauge('ebak_plan_last_drill_timestamp_seconds', 'When the last restore drill ran.', 'gauge', (s) => seconds(s.last_drill?.at));
  gauge('ebak_plan_next_drill_timestamp_seconds', 'When the plan\'s restore drill runs next.', 'gauge', (s) => seconds(s.next_drill));
  gauge('ebak_plan_last_drill_success', 'Whether the last restore drill read every file back equal to the snapshot (1) or not (0).', 'gauge', (s) => (s.last_drill ? Number(s.last_drill.verified) : undefined));
  gauge('ebak_plan_last_drill_restore_seconds', 'How long the last restore drill took to restore (RTO).', 'gauge', (s) => (s.last_drill?.snapshot ? s.last_drill.ms / 1000 : undefined));
  gauge('ebak_plan_last_drill_bytes', 'Bytes the last restore drill restored.', 'gauge', (s) => (s.last_drill?.snapshot ? s.last_drill.bytes : undefined));
  gauge('ebak_plan_last_drill_files', 'Files the last restore drill restored.', 'gauge', (s) => (s.last_drill?.snapshot ? s.last_drill.files : undefined));
  return out.join('\n') + '\n';
}
