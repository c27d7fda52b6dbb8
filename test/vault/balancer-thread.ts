/**
 * The replica set's TCP balancer, run in a worker thread (balancer.ts): its
 * own event loop, so a test's synchronous client work (OPAQUE's Argon2id
 * while registering, thousands of login requests) never delays the PROXY
 * header of a connection it forwards past the replica's 5 s header timeout.
 * Round robin over the live replicas; a replica that refuses the connection
 * is marked dead and the next one tried. Every connection starts with a
 * PROXY v2 header naming a source of its own (10.x.y.z), sent from
 * 127.0.0.2, as a load balancer in front of replicas would.
 */
import { connect, createServer, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';

/** To the thread: kill (a replica to skip), use (new connections go to the first k), stop. */
export type BalancerCommand = { kill: number } | { use: number } | { stop: true };

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

const replicas = (workerData as { ports: number[] }).ports.map((port) => ({ port, alive: true }));
const open = new Set<Socket>();
let use = replicas.length;
let next = 0;
let n = 0;

const server = createServer((client) => {
  client.pause();
  open.add(client);
  client.on('close', () => open.delete(client));
  client.on('error', () => client.destroy());
  const source = `10.${(++n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const attempt = (tries: number) => {
    const live = replicas.slice(0, use).filter((r) => r.alive);
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

parentPort!.on('message', (m: BalancerCommand) => {
  if ('kill' in m) replicas[m.kill]!.alive = false;
  else if ('use' in m) use = m.use;
  else {
    server.close();
    for (const s of open) s.destroy();
    parentPort!.close();
  }
});
server.listen(0, '127.0.0.1', () => parentPort!.postMessage((server.address() as { port: number }).port));
