/**
 * One thread of the PKCS#11 session pool (pool.ts): its own logged-in
 * session on the token, serving the pool's calls one at a time (a session
 * does one operation at a time; pkcs11js calls block the thread that makes
 * them, which is why they run here and not on the event loop). On the main
 * thread importing this module does nothing: src/hsm/index.ts imports it so
 * the enclave's measurement (src/vault/measure.ts) covers the code its
 * workers run (pool.ts cannot: this module runs the provider, which opens
 * the pool).
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Pkcs11Hsm } from '../pkcs11.js';
import { WORKER_MARK, type Op, type Reply, type Request, type WorkerData } from './messages.js';
import { decodeGuardValue, encodeGuardValue } from './register.js';

/** A copy in its own memory, so it can be transferred (nothing left behind) and the source zeroed. */
function detached(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  out.set(b);
  b.fill(0);
  return out;
}

async function call(hsm: Pkcs11Hsm, op: Op, args: unknown[]): Promise<unknown> {
  switch (op) {
    case 'wrap': return hsm.wrap(args[0] as string, args[1] as Uint8Array);
    case 'unwrap': return detached(await hsm.unwrap(args[0] as Uint8Array));
    case 'register.read': {
      const g = await hsm.register.read();
      return g && encodeGuardValue(g);
    }
    case 'register.advance': {
      const from = (args[0] as (Uint8Array | null)[]).map((b) => (b === null ? undefined : decodeGuardValue(Buffer.from(b))));
      return hsm.register.advance(from, decodeGuardValue(Buffer.from(args[1] as Uint8Array)));
    }
    case 'counters.all': return [...(await hsm.counters.all())];
    case 'counters.clear': return hsm.counters.clear();
  }
}

async function serve(d: WorkerData): Promise<void> {
  const port = parentPort!;
  const hsm = await Pkcs11Hsm.open(d.config);
  const pause = new Int32Array(new SharedArrayBuffer(4));
  port.on('message', (m: Request | 'close') => {
    if (m === 'close') {
      void hsm.close().finally(() => port.close());
      return;
    }
    if (d.delayMs > 0) Atomics.wait(pause, 0, 0, d.delayMs);
    call(hsm, m.op, m.args).then((value) => {
      port.postMessage({ n: m.n, ok: true, value } satisfies Reply, value instanceof Uint8Array && m.op === 'unwrap' ? [value.buffer as ArrayBuffer] : []);
    }, (e: Error & { code?: string }) => {
      port.postMessage({ n: m.n, ok: false, error: { code: e.code, message: e.message, name: e.name } } satisfies Reply);
    });
  });
  port.postMessage('ready');
}

if (!isMainThread && (workerData as WorkerData | undefined)?.mark === WORKER_MARK) {
  serve(workerData as WorkerData).catch((e: Error & { code?: string }) => parentPort!.postMessage({ failed: { code: e.code, message: e.message } }));
}
