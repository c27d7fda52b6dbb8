/** The replica set's balancer (balancer-thread.ts) in a worker thread of its own, driven from here. */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { BalancerCommand } from './balancer-thread.js';

export interface Balancer {
  port: number;
  /** Replica i is gone: new connections skip it. */
  kill(i: number): void;
  /** New connections go to the first k replicas only. */
  use(k: number): void;
  stop(): Promise<void>;
}

export async function startBalancer(ports: readonly number[]): Promise<Balancer> {
  const worker = new Worker(new URL('./balancer-thread.js', import.meta.url), { workerData: { ports } });
  const [port] = (await once(worker, 'message')) as [number];
  const send = (m: BalancerCommand) => worker.postMessage(m);
  return {
    port,
    kill: (i) => send({ kill: i }),
    use: (k) => send({ use: k }),
    stop: async () => {
      const exited = once(worker, 'exit');
      send({ stop: true });
      await exited;
    },
  };
}
