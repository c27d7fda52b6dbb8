/**
 * The real OPAQUE pool thread (src/vault/server/opaqueworker.ts), made to
 * fail: a batch naming the login request 'crash' ends the thread with an
 * exception instead of its reply, as a fault in the thread would
 * (opaquepool.test.ts). The reply is held for a microtask so this module's
 * listener, which runs after the real one, can say whether to throw.
 */
import { parentPort } from 'node:worker_threads';

await import('../../src/vault/server/opaqueworker.js'); // its handler is listening once this resolves
const port = parentPort!;
let crash = false;
const post = port.postMessage.bind(port);
port.postMessage = (reply: unknown) => queueMicrotask(() => {
  if (crash) throw new Error('injected fault');
  post(reply);
});
port.on('message', (calls: string[]) => { crash = calls.includes('crash'); });
