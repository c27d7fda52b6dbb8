/**
 * Worker-thread entry of the OPAQUE pool (opaquepool.ts): login starts
 * (KE2) for a batch of requests, the server setup given once at start.
 * A batch is a flat array of [record, KE1, user id] triples (record ''
 * for an unknown account's fake KE2); the reply is a flat array of
 * [login state, KE2] pairs, ['', ''] for a request OPAQUE refused.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as opaque from '@serenity-kit/opaque';

const serverSetup = (workerData as { setup: string }).setup;
await opaque.ready;
parentPort!.on('message', (calls: string[]) => {
  const out: string[] = [];
  for (let i = 0; i < calls.length; i += 3) {
    try {
      const r = opaque.server.startLogin({ serverSetup, registrationRecord: calls[i] || null, startLoginRequest: calls[i + 1]!, userIdentifier: calls[i + 2]! });
      out.push(r.serverLoginState, r.loginResponse);
    } catch {
      out.push('', '');
    }
  }
  parentPort!.postMessage(out);
});
