/**
 * `ebak daemon` (docs/plans.md): every plan on schedule — the scheduler on
 * the system clock, one JSON line per event on stdout, health and
 * Prometheus metrics on a local address, a clean stop on SIGTERM or Ctrl-C.
 */
import { createServer, type Server } from 'node:http';

import { EbakError } from '../../errors.js';
import { metrics, planStatus } from '../../plans/report.js';
import { Scheduler, systemClock, type SchedulerEvent } from '../../plans/scheduler.js';
import { defineCommand } from '../command.js';
import { runJob, untilStopped } from '../planrun.js';
import { openPlans } from './plan.js';

export const daemonCommand = defineCommand({
  name: 'daemon',
  usage: 'ebak daemon [--plans FILE] [--listen HOST:PORT] [--state FILE]',
  positionals: false,
  async run({ values }, ctx) {
    const { file, state } = await openPlans(ctx, values);
    const log = (e: object) => process.stdout.write(JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n');
    const scheduler = new Scheduler(file.plans, async (plan, signal, scheduled, job) => {
      const r = await runJob(ctx, plan, state, signal, scheduled, job);
      if (!r.ok) throw new EbakError('IO', r.error ?? 'failed');
    }, systemClock, state, (e: SchedulerEvent) => log(e));
    const listen = values.listen ?? file.daemon.listen;
    const server = listen === undefined ? undefined : await serveMetrics(listen, () => {
      const statuses = file.plans.map((p) => planStatus(p, state.runs(p.name), Date.now(), 7, { run: scheduler.nextRun(p.name), drill: scheduler.nextRun(p.name, 'drill') }));
      return metrics(statuses, new Map(file.plans.map((p) => [p.name, state.runs(p.name)])));
    });
    log({ event: 'daemon.start', plans: file.plans.map((p) => p.name), ...(server ? { listen: address(server) } : {}) });
    try {
      await untilStopped(ctx, (signal) => scheduler.run(signal));
    } finally {
      server?.close();
      server?.closeAllConnections(); // a scraper's kept-alive connection must not keep the daemon alive
      await state.save();
      log({ event: 'daemon.stop' });
    }
    return 0;
  },
});

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
