/**
 * Test and bench helper: n `ebak vault serve` processes (real TLS, the
 * simulated platform through the real CLI) on one state store — a throwaway
 * PostgreSQL database, or one SQLite file — and one SoftHSM token, behind one
 * address: a TCP round-robin balancer that connects from 127.0.0.2 and starts
 * each connection with a PROXY protocol v2 header naming a source of its
 * own (10.x.y.z), as a load balancer in front of replicas would. The
 * replicas run with `--proxy-protocol-from 127.0.0.2`, so their rate buckets
 * see one address per client connection. A replica can be killed with
 * SIGKILL; the balancer then skips it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRoot } from '../../src/attestation/index.js';
import type { VaultTrust } from '../../src/vault/client/transport.js';
import { vaultMeasurements } from '../../src/vault/measure.js';
import { startEbak } from '../cli/harness.js';
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
  stop(): Promise<void>;
}

/** PROXY v2, PROXY command, TCP over IPv4 (haproxy's proxy-protocol.txt §2.2). */
function proxyHeader(src: string, srcPort: number, dstPort: number): Buffer {
  const h = Buffer.alloc(28);
  Buffer.from('0d0a0d0a000d0a515549540a', 'hex').copy(h);
  h[12] = 0x21;
  h[13] = 0x11;
  h.writeUInt16BE(12, 14);
  Buffer.from(src.split('.').map(Number)).copy(h, 16);
  Buffer.from([127, 0, 0, 1]).copy(h, 20);
  h.writeUInt16BE(srcPort, 24);
  h.writeUInt16BE(dstPort, 26);
  return h;
}

async function startReplica(args: string[], env: Record<string, string>): Promise<Replica> {
  const serve = startEbak(args, env);
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

/** Round robin over the live replicas; a replica that refuses the connection is marked dead and the next one tried. */
function balancer(replicas: Replica[]) {
  const lb = { server: undefined as unknown as ReturnType<typeof createServer>, open: new Set<Socket>(), use: replicas.length };
  let next = 0;
  let n = 0;
  lb.server = createServer((client) => {
    client.pause();
    lb.open.add(client);
    client.on('close', () => lb.open.delete(client));
    client.on('error', () => client.destroy());
    const source = `10.${(++n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
    const attempt = (tries: number) => {
      const live = replicas.slice(0, lb.use).filter((r) => r.alive);
      if (live.length === 0 || tries === 0) return client.destroy();
      const r = live[next++ % live.length]!;
      const up = connect({ host: '127.0.0.1', port: r.port, localAddress: '127.0.0.2' });
      let connected = false;
      up.on('error', () => {
        if (connected) return client.destroy();
        r.alive = false;
        attempt(tries - 1);
      });
      up.once('connect', () => {
        connected = true;
        up.write(proxyHeader(source, client.remotePort ?? 0, r.port));
        client.pipe(up).pipe(client);
        client.resume();
        up.on('close', () => client.destroy());
        client.on('close', () => up.destroy());
      });
    };
    attempt(replicas.length);
  });
  return lb;
}

export async function startReplicaSet(o: ReplicaSetOptions): Promise<ReplicaSet> {
  const dir = mkdtempSync(join(tmpdir(), 'ebak-replicaset-'));
  const token = softhsm(['vault']);
  const db = o.store === 'postgres' ? startPostgres() : undefined;
  const platform = await startPlatform(dir);
  const env = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, EBAK_HSM_TOKEN: 'vault', EBAK_HSM_PIN: PIN, ...platform.credentials };
  const args = (i: number) => ['vault', 'serve', '--dir', join(dir, `r${i}`), '--state', db?.url ?? join(dir, 'state.db'), '--devca', platform.devca,
    '--listen', '127.0.0.1:0', '--registration', 'open', '--proxy-protocol-from', '127.0.0.2', ...(o.flags ?? []), ...platform.kmsFlags];
  // The first boot makes the enclave's root secret and the OPAQUE setup; the others find them.
  const replicas = [await startReplica(args(0), env)];
  replicas.push(...await Promise.all(Array.from({ length: o.replicas - 1 }, (_, i) => startReplica(args(i + 1), env))));
  const lb = balancer(replicas);
  await new Promise<void>((r) => lb.server.listen(0, '127.0.0.1', r));
  const m = vaultMeasurements();
  return {
    url: `https://127.0.0.1:${(lb.server.address() as { port: number }).port}`,
    trust: { root: loadRoot(readFileSync(platform.root, 'utf8')), pcrs: { 0: m.PCR0, 1: m.PCR1, 2: m.PCR2 } },
    kill: (i) => replicas[i]!.kill(),
    use: (k) => {
      lb.use = k;
    },
    stop: async () => {
      lb.server.close();
      for (const s of lb.open) s.destroy();
      await Promise.all(replicas.map((r) => r.stop()));
      await platform.keyService.stop();
      db?.stop();
      token.cleanup();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
