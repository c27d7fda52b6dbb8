/**
 * Test and bench helper: n `ebak vault serve` processes (real TLS, the
 * simulated platform through the real CLI) on one state store — a throwaway
 * PostgreSQL database, or one SQLite file — and one SoftHSM token, behind one
 * address: a TCP round-robin balancer (balancer-thread.ts, in a thread of
 * its own) that connects from 127.0.0.2 and starts each connection with a
 * PROXY protocol v2 header naming a source of its own (10.x.y.z), as a load
 * balancer in front of replicas would. The
 * replicas run with `--proxy-protocol-from 127.0.0.2`, so their rate buckets
 * see one address per client connection. A replica can be killed with
 * SIGKILL; the balancer then skips it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRoot } from '../../src/attestation/index.js';
import type { VaultTrust } from '../../src/vault/client/transport.js';
import { vaultMeasurements } from '../../src/vault/measure.js';
import { startEbak } from '../cli/harness.js';
import { startBalancer } from './balancer.js';
import { PIN, softhsm } from '../hsm/softhsm.js';
import { startPlatform, startPostgres } from './platform.js';

export interface ReplicaSetOptions {
  replicas: number;
  store: 'postgres' | 'sqlite';
  /** More `vault serve` flags (limits). */
  flags?: string[];
}

interface Replica {
  port: number;
  alive: boolean;
  /** What it printed on stderr so far (its warnings, e.g. an internal error's stack). */
  stderr(): string;
  kill(): void;
  stop(): Promise<unknown>;
}

export interface ReplicaSet {
  /** The balancer's address. */
  url: string;
  trust: VaultTrust;
  /** SIGKILL replica i. */
  kill(i: number): void;
  /** New connections go to the first k replicas only (a bench measures 1, 2, 3 on one set). */
  use(k: number): void;
  /** The lines the replicas printed on stderr so far that match `pattern`, each prefixed with its replica. */
  logged(pattern: RegExp): string[];
  stop(): Promise<void>;
}

async function startReplica(args: string[], env: Record<string, string>): Promise<Replica> {
  const serve = startEbak(args, env);
  let err = '';
  serve.child.stderr!.on('data', (d) => (err += d));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    serve.child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void serve.done.then((r) => reject(new Error(`vault serve exited: ${r.stderr}`)));
  });
  const r: Replica = {
    port, alive: true,
    stderr: () => err,
    kill: () => {
      r.alive = false;
      serve.child.kill('SIGKILL');
    },
    stop: () => {
      if (r.alive) serve.child.kill('SIGTERM');
      r.alive = false;
      return serve.done;
    },
  };
  return r;
}

/** A process's stderr as entries: a line with the indented lines after it (a stack's frames). */
function entries(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (/^\s/.test(line) && out.length > 0) out[out.length - 1] += `\n${line}`;
    else if (line !== '') out.push(line);
  }
  return out;
}

/**
 * Starts the set; when a part fails to start, what had started is stopped before the error goes on (a replica or a
 * key service left running keeps the test process alive, and the suite hangs instead of failing).
 */
export async function startReplicaSet(o: ReplicaSetOptions): Promise<ReplicaSet> {
  const stops: (() => unknown)[] = [];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) await stop(); // once: a second stop finds nothing left
  };
  try {
    return await startParts(o, stops, stopAll);
  } catch (e) {
    await stopAll();
    throw e;
  }
}

async function startParts(o: ReplicaSetOptions, stops: (() => unknown)[], stopAll: () => Promise<void>): Promise<ReplicaSet> {
  const dir = mkdtempSync(join(tmpdir(), 'ebak-replicaset-'));
  stops.push(() => rmSync(dir, { recursive: true, force: true }));
  const token = softhsm(['vault']);
  stops.push(() => token.cleanup());
  const db = o.store === 'postgres' ? startPostgres() : undefined;
  if (db) stops.push(() => db.stop());
  const platform = await startPlatform(dir);
  stops.push(() => platform.keyService.stop());
  const env = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, EBAK_HSM_TOKEN: 'vault', EBAK_HSM_PIN: PIN, ...platform.credentials };
  const args = (i: number) => ['vault', 'serve', '--dir', join(dir, `r${i}`), '--state', db?.url ?? join(dir, 'state.db'), '--devca', platform.devca,
    '--listen', '127.0.0.1:0', '--registration', 'open', '--proxy-protocol-from', '127.0.0.2', ...(o.flags ?? []), ...platform.kmsFlags];
  const replicas: Replica[] = [];
  stops.push(() => Promise.all(replicas.map((r) => r.stop())));
  // The first boot makes the enclave's root secret and the OPAQUE setup; the others find them.
  replicas.push(await startReplica(args(0), env));
  const rest = await Promise.allSettled(Array.from({ length: o.replicas - 1 }, (_, i) => startReplica(args(i + 1), env)));
  for (const r of rest) if (r.status === 'fulfilled') replicas.push(r.value);
  const failed = rest.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const lb = await startBalancer(replicas.map((r) => r.port));
  stops.push(() => lb.stop());
  const m = vaultMeasurements();
  return {
    url: `https://127.0.0.1:${lb.port}`,
    trust: { root: loadRoot(readFileSync(platform.root, 'utf8')), pcrs: { 0: m.PCR0, 1: m.PCR1, 2: m.PCR2 } },
    kill: (i) => {
      lb.kill(i);
      replicas[i]!.kill();
    },
    use: (k) => lb.use(k),
    logged: (pattern) => replicas.flatMap((r, i) => entries(r.stderr()).filter((e) => pattern.test(e)).map((e) => `replica ${i}: ${e}`)),
    stop: stopAll,
  };
}
