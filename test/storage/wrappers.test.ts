/**
 * The wrappers on their own, around the real local backend with a fault
 * layer in front of it (local disks do not fail on demand): retry budget and
 * permanence, listings restarted midway, the concurrency limit, accounting.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { EbakError } from '../../src/errors.js';
import { AccountingBackend } from '../../src/storage/accounting.js';
import type { Backend, FileInfo, FileType, ReadSet } from '../../src/storage/backend.js';
import { LimitBackend } from '../../src/storage/limit.js';
import { LocalBackend } from '../../src/storage/local.js';
import { RetryBackend, retryable } from '../../src/storage/retry.js';
import { collect, id, pool, rejectsWith } from './conformance.js';

let dir: string;
let local: LocalBackend;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ebak-wrap-'));
  local = new LocalBackend(dir);
  await local.create();
});
after(async () => rm(dir, { recursive: true, force: true }));

/** Fails the next `failures` calls (and listings after `failAfter` entries) with a retryable error. */
class Flaky implements Backend {
  failures = 0;
  failAfter = Infinity;
  calls = 0;
  inFlight = 0;
  maxInFlight = 0;
  constructor(readonly inner: Backend) {}
  get location() {
    return this.inner.location;
  }
  get capabilities() {
    return this.inner.capabilities;
  }
  private async gate<T>(fn: () => Promise<T>): Promise<T> {
    this.calls++;
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight);
    try {
      await sleep(2);
      if (this.failures > 0) {
        this.failures--;
        throw retryable(new EbakError('STORAGE', 'injected transient failure'));
      }
      return await fn();
    } finally {
      this.inFlight--;
    }
  }
  create = () => this.gate(() => this.inner.create());
  isRepository = () => this.gate(() => this.inner.isRepository());
  save = (h: Parameters<Backend['save']>[0], d: Uint8Array) => this.gate(() => this.inner.save(h, d));
  load = (h: Parameters<Backend['load']>[0], r?: Parameters<Backend['load']>[1]) => this.gate(() => this.inner.load(h, r));
  stat = (h: Parameters<Backend['stat']>[0]) => this.gate(() => this.inner.stat(h));
  remove = (h: Parameters<Backend['remove']>[0]) => this.gate(() => this.inner.remove(h));
  close = () => this.inner.close();
  async *list(type: FileType): AsyncIterable<FileInfo> {
    let n = 0;
    for await (const fi of this.inner.list(type)) {
      if (n++ === this.failAfter) {
        this.failAfter = Infinity;
        throw retryable(new EbakError('STORAGE', 'injected failure mid-listing'));
      }
      yield fi;
    }
  }
}

it('retry: transient failures are retried within the budget, then one STORAGE error', async () => {
  const flaky = new Flaky(local);
  const delays: number[] = [];
  const r = new RetryBackend(flaky, { attempts: 4, baseDelayMs: 8, onRetry: (i) => delays.push(i.delayMs) });
  const h = { type: 'keys' as const, name: id() };
  flaky.failures = 3;
  await r.save(h, randomBytes(5));
  assert.equal(flaky.calls, 4);
  assert.equal(delays.length, 3);
  delays.forEach((d, i) => assert.ok(d >= 0 && d <= 8 * 2 ** i, `jittered delay ${d} within cap ${8 * 2 ** i}`));
  flaky.failures = 4;
  flaky.calls = 0;
  const e = await r.load(h).catch((x: unknown) => x);
  assert.ok(e instanceof EbakError && e.code === 'STORAGE' && /gave up after 4 attempts/.test(e.message));
  assert.equal(flaky.calls, 4);
});

it('retry: NOT_FOUND, USAGE and unmarked errors are permanent', async () => {
  const flaky = new Flaky(local);
  const r = new RetryBackend(flaky, { attempts: 5, baseDelayMs: 1 });
  await rejectsWith(r.load({ type: 'keys', name: id() }), 'NOT_FOUND');
  await rejectsWith(r.load({ type: 'keys', name: 'nope' }), 'USAGE');
  assert.equal(flaky.calls, 2);
});

it('retry: a listing that fails midway restarts and yields each name once', async () => {
  const names = Array.from({ length: 30 }, id);
  for (const name of names) await local.save({ type: 'locks', name }, Buffer.from('x'));
  const flaky = new Flaky(local);
  flaky.failAfter = 12;
  const listed = (await collect(new RetryBackend(flaky, { baseDelayMs: 1 }).list('locks'))).map((fi) => fi.name);
  assert.equal(listed.length, 30);
  assert.deepEqual(new Set(listed), new Set(names));
});

it('limit: never more operations in flight than the limit, and a listing loop that loads does not deadlock', async () => {
  const flaky = new Flaky(local);
  const limited = new LimitBackend(flaky, 3);
  await pool(Array.from({ length: 40 }, id), 20, (name) => limited.save({ type: 'snapshots', name }, Buffer.from('y')));
  assert.equal(flaky.maxInFlight, 3);
  const one = new LimitBackend(flaky, 1);
  let n = 0;
  for await (const fi of one.list('snapshots')) {
    await one.load({ type: 'snapshots', name: fi.name });
    n++;
  }
  assert.ok(n >= 40);
});

it('accounting: classes, bytes, failed attempts and one LIST per started page of 1,000', async () => {
  const flaky = new Flaky(local);
  const acc = new AccountingBackend(flaky);
  const h = { type: 'index' as const, name: id() };
  await acc.save(h, randomBytes(300));
  flaky.failures = 1;
  await acc.save(h, randomBytes(300)).catch(() => undefined);
  await acc.load(h, { offset: 0, length: 120 });
  await acc.stat(h);
  await acc.isRepository();
  await acc.remove(h);
  const names = Array.from({ length: 1001 }, id);
  await pool(names, 8, (name) => local.save({ type: 'data', name }, Buffer.from('z')));
  assert.equal((await collect(acc.list('data'))).length >= 1001, true);
  const snap = acc.counter.snapshot();
  assert.deepEqual(snap, { put: 2, get: 1, list: 2, delete: 1, head: 2, bytesUp: 600, bytesDown: 120 });
  await acc.stat({ type: 'data', name: names[0] as string });
  assert.equal(snap.head, 2, 'a snapshot does not change afterwards');
});

it('capabilities: every wrapper reports its backend\'s', () => {
  const odd: Backend = Object.create(local, { capabilities: { value: { appendOnly: true, objectLock: true, storageClasses: true, archiveRestore: false } } });
  for (const inner of [local, odd])
    for (const wrap of [(b: Backend) => new RetryBackend(b), (b: Backend) => new LimitBackend(b, 1), (b: Backend) => new AccountingBackend(b)])
      assert.deepEqual(wrap(inner).capabilities, inner.capabilities);
});

it('prepareRead: every wrapper has it exactly when its backend does; retry repeats it, the limit holds no slot for it', async () => {
  for (const wrap of [(b: Backend) => new RetryBackend(b), (b: Backend) => new LimitBackend(b, 1), (b: Backend) => new AccountingBackend(b)])
    assert.equal(wrap(local).prepareRead, undefined, 'a local directory needs no preparing');
  const flaky = new Flaky(local);
  const asked: string[][] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const preparing = Object.assign(flaky, {
    prepareRead: (wanted: ReadSet) => {
      const hs = 'collect' in wanted ? [] : wanted;
      return flaky.stat({ type: 'keys', name: hs[0]!.name }).then(async () => {
        asked.push(hs.map((h) => h.name));
        await held;
      });
    },
  });
  const h = { type: 'keys' as const, name: id() };
  await local.save(h, Buffer.from('k'));
  const stacked = new RetryBackend(new LimitBackend(new AccountingBackend(preparing), 1), { baseDelayMs: 1 });
  flaky.failures = 1; // the first attempt fails transiently and is repeated
  const prepared = stacked.prepareRead!([h]);
  while (asked.length === 0) await sleep(2);
  // The single limit slot is free while prepareRead waits.
  assert.equal((await stacked.stat(h)).size, 1);
  release();
  await prepared;
  assert.deepEqual(asked, [[h.name]]);
});

it('cancellation: an aborted signal ends a retry backoff at once (CANCELLED, no further attempt); the local backend refuses a call once aborted', async () => {
  const flaky = new Flaky(local);
  flaky.failures = 10;
  const ac = new AbortController();
  // Aborted once the first backoff has begun (a microtask runs after pause() is called, before any timer):
  // an abort on a 50 ms timer raced full jitter's delay (it may be a few ms) and lost on a loaded machine: a second attempt.
  const r = new RetryBackend(flaky, { attempts: 10, baseDelayMs: 60_000, maxDelayMs: 60_000, onRetry: () => queueMicrotask(() => ac.abort()) });
  const t0 = Date.now();
  await rejectsWith(r.stat({ type: 'keys', name: id() }, { signal: ac.signal }), 'CANCELLED');
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
  assert.equal(flaky.calls, 1, 'no attempt after the abort');
  await rejectsWith(local.save({ type: 'keys', name: id() }, randomBytes(4), { signal: ac.signal }), 'CANCELLED');
});
