/**
 * The plan run lock (src/plans/runlock.ts) in one process: a second holder
 * waits, is told once who holds it, and gets it when the first releases;
 * waiting ends with CANCELLED when the run is cancelled.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isEbakError } from '../../src/errors.js';
import { PlanRunLock, type RunLockHolder } from '../../src/plans/runlock.js';

const path = join(await mkdtemp(join(tmpdir(), 'ebak-runlock-')), 'locks', 'p.lock');
const never = new AbortController().signal;

it('a second run waits for the first, told once who holds the lock', async () => {
  const first = await PlanRunLock.acquire(path, 'backup', { signal: never });
  const told: RunLockHolder[] = [];
  let got = false;
  const second = PlanRunLock.acquire(path, 'drill', { signal: never, pollMs: 10, onWait: (h) => told.push(h) }).then((l) => ((got = true), l));
  await sleep(100);
  assert.equal(got, false);
  assert.deepEqual(told.map((h) => [h.pid, h.job]), [[process.pid, 'backup']]);
  first.release();
  (await second).release();
  assert.equal(told.length, 1);
});

it('waiting ends with CANCELLED when the run is cancelled', async () => {
  const held = await PlanRunLock.acquire(path, 'backup', { signal: never });
  const stop = new AbortController();
  const waiting = PlanRunLock.acquire(path, 'drill', { signal: stop.signal, pollMs: 10 });
  await sleep(30);
  stop.abort();
  await assert.rejects(waiting, (e) => isEbakError(e, 'CANCELLED'));
  held.release();
});
