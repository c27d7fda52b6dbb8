/**
 * `ebak plan validate|list|run|status` (docs/plans.md): plan files read and
 * validated once (src/plans), one run (or, with --drill, one restore
 * drill) now through the same runner the daemon uses (src/cli/planrun.ts),
 * status from the state file.
 */
import { join } from 'node:path';
import { environment } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import type { Plan, PlanFile } from '../../plans/plan.js';
import { readPlanFile } from '../../plans/planfile.js';
import { planStatus } from '../../plans/report.js';
import { PlanStateFile, type DrillRecord, type RunRecord } from '../../plans/state.js';
import { formatBytes, formatRate } from '../format.js';
import { defineCommand, type Context } from '../command.js';
import { contextFor, refuseIfLocked, repositoryLock, runJob, untilStopped } from '../planrun.js';
import { withRepo } from '../session.js';

const USAGE = 'ebak plan validate FILE | plan list [--plans FILE] | plan run NAME [--drill] [--plans FILE] | plan status [--plans FILE] [--days N] [--json]';

interface Opened {
  file: PlanFile;
  state: PlanStateFile;
}

export async function openPlans(ctx: Context, values: Record<string, string | undefined>, file = values.plans ?? join(environment(ctx.env).configDir, 'plans.yaml')): Promise<Opened> {
  return { file: await readPlanFile(file), state: PlanStateFile.open(values.state ?? join(environment(ctx.env).configDir, 'plan-state.json')) };
}

export const planCommand = defineCommand({
  name: 'plan',
  usage: USAGE,
  async run({ positionals: [sub, arg], values, switches }, ctx) {
    if (sub === 'validate') {
      if (!arg) throw new EbakError('USAGE', 'plan validate needs a plan file', { hint: USAGE });
      const f = await readPlanFile(arg);
      await checkLocks(ctx, f.plans);
      ctx.out.line(`${arg}: ${f.plans.length} plan${f.plans.length === 1 ? '' : 's'}, valid`);
      ctx.out.result({ valid: true, plans: f.plans.map((p) => p.name) });
      return 0;
    }
    const { file, state } = await openPlans(ctx, values);
    if (sub === 'list') return list(ctx, file.plans);
    if (sub === 'status') return status(ctx, file.plans, state, values.days === undefined ? 7 : Number(values.days));
    if (sub === 'run') {
      const plan = file.plans.find((p) => p.name === arg);
      if (!plan) throw new EbakError('NOT_FOUND', arg ? `no plan ${JSON.stringify(arg)} in the plan file` : 'plan run needs a plan name', { hint: `the plans: ${file.plans.map((p) => p.name).join(', ')}` });
      const job = switches.drill ? 'drill' : 'backup';
      const r = await untilStopped(ctx, (signal) => runJob(ctx, plan, state, signal, Date.now(), job));
      ctx.out.line(`plan ${plan.name}: ${job === 'drill' ? 'drill ' : ''}${r.ok ? 'ok' : `failed: ${r.error}`} in ${(r.ms / 1000).toFixed(1)} s${summary(r)}`);
      ctx.out.result(r);
      return r.ok ? 0 : 1;
    }
    throw new EbakError('USAGE', `unknown plan subcommand ${sub === undefined ? '(none)' : JSON.stringify(sub)}`, { hint: USAGE });
  },
});

/**
 * Each retention of the plans (their own, their copies') against its
 * repository's retention lock, where the repository can be opened (its
 * location and password at hand): every violation found is refused at once
 * (RETENTION); a repository that cannot be opened is named, not checked
 * (runs check it again before they forget anything).
 */
async function checkLocks(ctx: Context, plans: readonly Plan[]): Promise<void> {
  const problems: string[] = [];
  for (const plan of plans) {
    const targets = [{ creds: plan, policy: plan.retention, field: '' }, ...plan.copies.map((c, i) => ({ creds: c, policy: c.retention, field: `copies[${i}].` }))];
    for (const { creds, policy, field } of targets) {
      if (!policy) continue;
      try {
        const lock = await withRepo(contextFor(ctx, creds), { readOnly: true }, (repo, _pool, _backend, head) => repositoryLock(repo, head));
        refuseIfLocked(plan, { policy, field }, lock);
      } catch (e) {
        if (e instanceof EbakError && e.code === 'RETENTION') problems.push(e.message);
        else ctx.out.warn(`plan ${plan.name}: ${field}retention not checked against the retention lock of ${creds.repository}: ${(e as Error).message} (each run checks it before it forgets anything)`);
      }
    }
  }
  if (problems.length > 0) throw new EbakError('RETENTION', problems.join('; '), { hint: 'change the plan\'s retention to fit the lock (ebak retention show)' });
}

function summary(r: RunRecord): string {
  if (r.drill) return r.drill.snapshot ? `, snapshot ${r.drill.snapshot.slice(0, 8)}: ${drillLine(r.drill)}` : '';
  return `${r.snapshot ? `, snapshot ${r.snapshot.slice(0, 8)}` : ''}${r.forgotten ? `, ${r.forgotten} forgotten` : ''}`;
}

/** What a drill restored, how fast (RTO, throughput), and whether it read back whole. */
function drillLine(d: DrillRecord): string {
  return `${d.files} files, ${formatBytes(d.bytes)} restored in ${(d.ms / 1000).toFixed(2)} s (${formatRate(d.bytes, d.ms)}), ${d.verified ? 'verified' : 'NOT verified'}`;
}

function list(ctx: Context, plans: readonly Plan[]): number {
  const now = Date.now();
  for (const p of plans) ctx.out.line(`${p.name.padEnd(20)} ${p.schedule.text.padEnd(16)} ${p.timezone.padEnd(16)} next ${new Date(p.schedule.next(now) ?? NaN).toISOString()}  ${p.repository}`);
  ctx.out.result(plans.map((p) => ({ name: p.name, schedule: p.schedule.text, timezone: p.timezone, repository: p.repository, sources: p.sources, next_run: new Date(p.schedule.next(now) ?? NaN).toISOString() })));
  return 0;
}

function status(ctx: Context, plans: readonly Plan[], state: PlanStateFile, days: number): number {
  if (!Number.isInteger(days) || days < 1) throw new EbakError('USAGE', '--days must be a whole number of days, at least 1');
  const all = plans.map((p) => planStatus(p, state.runs(p.name), Date.now(), days));
  for (const s of all) {
    const last = s.last_run ? `${s.last_run.ok ? 'ok' : 'FAILED'} ${s.last_run.started} (${(s.last_run.ms / 1000).toFixed(1)} s)` : 'never run';
    ctx.out.line(`${s.plan.padEnd(20)} last ${last}; next ${s.next_run ?? 'never'}; RPO ${s.rpo.ok ? 'met' : 'MISSED'} (${s.rpo.met}/${s.rpo.slots} slots in ${days} d); drill ${s.last_drill ? `${s.last_drill.at}: ${drillLine(s.last_drill)}` : 'never'}${s.next_drill ? `, next ${s.next_drill}` : ''}`);
  }
  ctx.out.result(all);
  return all.every((s) => s.rpo.ok) ? 0 : 3;
}
