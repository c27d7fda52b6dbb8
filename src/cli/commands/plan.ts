/**
 * `ebak plan validate|list|run|status` and `ebak daemon` (docs/plans.md):
 * plan files read and validated once (src/plans), one run now through the
 * same runner the daemon uses (src/cli/planrun.ts), status from the state
 * file, and the daemon: the scheduler on the system clock, one JSON line per
 * event on stdout, health and Prometheus metrics on a local address, a
 * clean stop on SIGTERM or Ctrl-C.
 */
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { environment, parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import type { Plan, PlanFile } from '../../plans/plan.js';
import { readPlanFile } from '../../plans/planfile.js';
import { metrics, planStatus } from '../../plans/report.js';
import { Scheduler, systemClock, type SchedulerEvent } from '../../plans/scheduler.js';
import { PlanStateFile } from '../../plans/state.js';
import type { Command, Context } from '../command.js';
import { runPlan } from '../planrun.js';
import { interruptible } from '../session.js';

const USAGE = 'ebak plan validate FILE | plan list [--plans FILE] | plan run NAME [--plans FILE] | plan status [--plans FILE] [--days N] [--json]';

interface Opened {
  file: PlanFile;
  state: PlanStateFile;
}

async function openPlans(ctx: Context, values: Record<string, string | undefined>, file = values.plans ?? join(environment(ctx.env).configDir, 'plans.yaml')): Promise<Opened> {
  return { file: await readPlanFile(file), state: PlanStateFile.open(values.state ?? join(environment(ctx.env).configDir, 'plan-state.json')) };
}

export const planCommand: Command = {
  name: 'plan',
  summary: 'backup plans: validate a plan file, list its plans, run one now, show their status',
  usage: USAGE,
  async run(argv, ctx) {
    const { positionals, values } = parseFlags('plan', argv, ctx.env);
    const [sub, arg] = positionals;
    if (sub === 'validate') {
      if (!arg) throw new EbakError('USAGE', 'plan validate needs a plan file', { hint: USAGE });
      const f = await readPlanFile(arg);
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
      const r = await interruptible(ctx, (signal) => runPlan(ctx, plan, state, signal, Date.now()));
      ctx.out.line(`plan ${plan.name}: ${r.ok ? 'ok' : `failed: ${r.error}`} in ${(r.ms / 1000).toFixed(1)} s${r.snapshot ? `, snapshot ${r.snapshot.slice(0, 8)}` : ''}${r.forgotten ? `, ${r.forgotten} forgotten` : ''}`);
      ctx.out.result(r);
      return r.ok ? 0 : 1;
    }
    throw new EbakError('USAGE', `unknown plan subcommand ${sub === undefined ? '(none)' : JSON.stringify(sub)}`, { hint: USAGE });
  },
};

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
    ctx.out.line(`${s.plan.padEnd(20)} last ${last}; next ${s.next_run ?? 'never'}; RPO ${s.rpo.ok ? 'met' : 'MISSED'} (${s.rpo.met}/${s.rpo.slots} slots in ${days} d); drill ${s.last_drill ? s.last_drill.at : 'never'}`);
  }
  ctx.out.result(all);
  return all.every((s) => s.rpo.ok) ? 0 : 3;
}

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'run every plan on its schedule (JSON log lines, health and Prometheus metrics)',
  usage: 'ebak daemon [--plans FILE] [--listen HOST:PORT] [--state FILE]',
  async run(argv, ctx) {
    const { values } = parseFlags('daemon', argv, ctx.env, { positionals: false });
    const { file, state } = await openPlans(ctx, values);
    const log = (e: object) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n');
    const scheduler = new Scheduler(file.plans, async (plan, signal, scheduled) => {
      const r = await runPlan(ctx, plan, state, signal, scheduled);
      if (!r.ok) throw new EbakError('IO', r.error ?? 'failed');
    }, systemClock, state, (e: SchedulerEvent) => log(e));
    const listen = values.listen ?? file.daemon.listen;
    const server = listen === undefined ? undefined : await serveMetrics(listen, () => {
      const statuses = file.plans.map((p) => planStatus(p, state.runs(p.name), Date.now(), 7, scheduler.nextRun(p.name)));
      return metrics(statuses, new Map(file.plans.map((p) => [p.name, state.runs(p.name)])));
    });
    log({ event: 'daemon.start', plans: file.plans.map((p) => p.name), ...(server ? { listen: address(server) } : {}) });
    try {
      await interruptible(ctx, async (signal) => {
        const stop = new AbortController();
        const onTerm = () => stop.abort();
        process.once('SIGTERM', onTerm);
        signal.addEventListener('abort', onTerm, { once: true });
        try {
          await scheduler.run(stop.signal);
        } finally {
          process.off('SIGTERM', onTerm);
        }
      });
    } finally {
      server?.close();
      server?.closeAllConnections(); // a scraper's kept-alive connection must not keep the daemon alive
      await state.save();
      log({ event: 'daemon.stop' });
    }
    return 0;
  },
};

/** /healthz and /metrics on a local address (the daemon's only listener; no secrets, no control). */
function serveMetrics(listen: string, render: () => string): Promise<Server> {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i) || '127.0.0.1';
  const port = Number(listen.slice(i + 1));
  const server = createServer((req, res) => {
    if (req.url === '/healthz') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    if (req.url === '/metrics') return void res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(render());
    res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', (e) => reject(new EbakError('IO', `daemon cannot listen on ${listen}: ${e.message}`)));
    server.listen(port, host, () => resolve(server));
  });
}

function address(s: Server): string {
  const a = s.address();
  return typeof a === 'object' && a ? `${a.address}:${a.port}` : String(a);
}
