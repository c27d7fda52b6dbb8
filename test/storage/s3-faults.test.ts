/**
 * Faults a healthy server never produces, injected by the proxy in front of
 * s3rver: 5xx bursts, connection resets before and mid-body, slow answers.
 * The retry wrapper must get every operation through with the right bytes,
 * and after its budget give one clear STORAGE error. An aborted signal stops
 * a slow request in flight at once (CANCELLED), and is never retried.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EbakError } from '../../src/errors.js';
import { awsEnvironment } from '../../src/config/index.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import { fileSource, id, rejectsWith } from './conformance.js';
import { S3Proxy, type Fault, type Recorded } from './proxy.js';
import { S3RVER_ENV, startS3rver, type S3rver } from './s3server.js';

let server: S3rver;
let proxy: S3Proxy;
let b: OpenedBackend;
let retries = 0;
/** The same bucket with a short idle timeout, for the slow-answer test only: under a loaded machine's delays it would retry any request. */
let hasty: OpenedBackend;

/** A backend through the proxy whose retries are counted in `retries`, abandoning an answer idle for `idleTimeoutMs`. */
function faultBackend(idleTimeoutMs: number): Promise<OpenedBackend> {
  return openBackend(`s3:${proxy.endpoint}/faults`, awsEnvironment({ ...S3RVER_ENV, AWS_CA_BUNDLE: server.tls.certFile }), {
    retry: { attempts: 5, baseDelayMs: 10, onRetry: () => retries++ },
    idleTimeoutMs,
    multipartThresholdBytes: 6 * MiB,
    partBytes: 5 * MiB,
  });
}

before(async () => {
  server = await startS3rver();
  proxy = await S3Proxy.start(server);
  b = await faultBackend(10_000);
  await b.create();
  hasty = await faultBackend(400);
});
after(async () => {
  await b.close();
  await hasty.close();
  await proxy.close();
  await server.stop();
});
beforeEach(() => {
  proxy.reset();
  retries = 0;
});

/** Injects `fault` into the first `n` requests matching `match`. */
function burst(n: number, fault: Fault, match: (r: Recorded) => boolean = () => true): void {
  let left = n;
  proxy.fault = (r) => (match(r) && left-- > 0 ? fault : undefined);
}
const isGet = (r: Recorded) => r.method === 'GET';
const MiB = 1024 * 1024;

describe('s3 under injected faults', () => {
  it('a burst of 503 SlowDown on PUT: saved after retries', async () => {
    const h = { type: 'data' as const, name: id() };
    const data = randomBytes(50_000);
    burst(3, { status: 503, code: 'SlowDown' });
    await b.save(h, data, { packKind: 'data' });
    assert.equal(retries, 3);
    assert.deepEqual(await b.load(h), data);
  });

  it('500 InternalError on GET and on LIST: retried', async () => {
    const h = { type: 'index' as const, name: id() };
    await b.save(h, randomBytes(10));
    burst(2, { status: 500, code: 'InternalError' });
    assert.equal((await b.load(h)).length, 10);
    burst(2, { status: 500, code: 'InternalError' });
    const names: string[] = [];
    for await (const fi of b.list('index')) names.push(fi.name);
    assert.ok(names.includes(h.name));
    assert.equal(retries, 4);
  });

  it('a connection reset mid-body on GET: the retry returns the exact bytes', async () => {
    const h = { type: 'data' as const, name: id() };
    const data = randomBytes(2 * 1024 * 1024);
    await b.save(h, data, { packKind: 'data' });
    burst(2, { resetMidBody: true }, isGet);
    assert.ok((await b.load(h)).equals(data));
    assert.equal(retries, 2);
    burst(1, { resetMidBody: true }, isGet);
    assert.ok((await b.load(h, { offset: 1000, length: 100_000 })).equals(data.subarray(1000, 101_000)));
  });

  it('a connection reset before the answer to a PUT: the repeated save is idempotent', async () => {
    const h = { type: 'snapshots' as const, name: id() };
    const data = randomBytes(1000);
    burst(1, { resetBeforeResponse: true });
    await b.save(h, data);
    assert.equal(retries, 1);
    assert.deepEqual(await b.load(h), data);
  });

  it('a connection cut mid-upload of a save from a source (a pack in its file): the retry sends it again from byte 0', async () => {
    const h = { type: 'data' as const, name: id() };
    const data = randomBytes(3 * MiB);
    const src = await fileSource(data);
    let cuts = 1;
    proxy.cutUpload = (r) => (r.method === 'PUT' && cuts-- > 0 ? MiB : undefined);
    try {
      // With its digest given, as a pack's id is (SaveOptions.sha256): the source is read only to send it.
      await b.save(h, src, { packKind: 'data', sha256: createHash('sha256').update(data).digest('hex') });
    } finally {
      await src.close();
    }
    assert.equal(retries, 1);
    assert.equal(src.starts, 2, 'read from its start once per attempt');
    const puts = proxy.requests.filter((r) => r.method === 'PUT');
    assert.equal(puts.length, 2);
    assert.ok(puts[0]!.body.length >= MiB && puts[0]!.body.length < data.length, 'the first attempt was cut midway');
    assert.ok(puts[1]!.body.equals(data));
    assert.equal(puts[1]!.headers['x-amz-checksum-sha256'], createHash('sha256').update(data).digest('base64'));
    assert.ok((await b.load(h)).equals(data));
  });

  it('a multipart part cut mid-upload: the part is read again and sent whole', async () => {
    const h = { type: 'data' as const, name: id() };
    const data = randomBytes(12 * MiB);
    const src = await fileSource(data);
    let cuts = 1;
    proxy.cutUpload = (r) => (r.method === 'PUT' && /[?&]partNumber=2/.test(r.url) && cuts-- > 0 ? 2 * MiB : undefined);
    try {
      await b.save(h, src, { packKind: 'data' });
    } finally {
      await src.close();
    }
    assert.equal(retries, 1);
    const parts = proxy.requests.filter((r) => r.method === 'PUT' && /[?&]partNumber=/.test(r.url));
    assert.equal(parts.length, 3 + 3, 'the whole upload again after the cut (the retry wrapper retries the save)');
    assert.ok((await b.load(h)).equals(data));
  });

  it('a slow answer (beyond the idle timeout) is abandoned and retried', async () => {
    const h = { type: 'keys' as const, name: id() };
    await hasty.save(h, randomBytes(10));
    burst(1, { delayMs: 1200 }, isGet);
    const t0 = Date.now();
    assert.equal((await hasty.load(h)).length, 10);
    assert.equal(retries, 1);
    assert.ok(Date.now() - t0 < 1200, 'did not wait for the slow answer');
  });

  it('after the retry budget: one clear STORAGE error', async () => {
    proxy.fault = () => ({ status: 503, code: 'SlowDown' });
    const h = { type: 'keys' as const, name: id() };
    const e = await b.save(h, randomBytes(10)).catch((x: unknown) => x);
    assert.ok(e instanceof EbakError);
    assert.equal(e.code, 'STORAGE');
    assert.match(e.message, /gave up after 5 attempts/);
    assert.ok(!e.message.includes('\n'));
    assert.equal(proxy.requests.length, 5);
    proxy.fault = undefined;
  });

  it('NOT_FOUND is permanent: one request, no retry', async () => {
    await rejectsWith(b.load({ type: 'keys', name: id() }), 'NOT_FOUND');
    assert.equal(proxy.requests.length, 1);
    assert.equal(retries, 0);
  });
});

describe('s3 cancellation', () => {
  let slow: OpenedBackend;
  before(async () => {
    // A long idle timeout: only the signal can end a slow answer.
    slow = await openBackend(`s3:${proxy.endpoint}/faults`, awsEnvironment({ ...S3RVER_ENV, AWS_CA_BUNDLE: server.tls.certFile }), { retry: { attempts: 5, baseDelayMs: 10 }, idleTimeoutMs: 60_000 });
  });
  after(() => slow.close());

  it('aborting the call\'s signal stops a slow GET at once: CANCELLED, one request, no retry', async () => {
    const h = { type: 'keys' as const, name: id() };
    await slow.save(h, randomBytes(10));
    proxy.reset();
    burst(1, { delayMs: 20_000 }, isGet);
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 200);
    await rejectsWith(slow.load(h, undefined, { signal: ac.signal }), 'CANCELLED');
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
    assert.equal(proxy.requests.length, 1);
  });

  it('the run\'s signal (cancelWith) stops a slow request too; lock objects are still removed after it aborted', async () => {
    const data = { type: 'data' as const, name: id() };
    const lock = { type: 'locks' as const, name: id() };
    await slow.save(data, randomBytes(10), { packKind: 'data' });
    await slow.save(lock, randomBytes(10));
    const ac = new AbortController();
    slow.cancelWith(ac.signal);
    burst(1, { delayMs: 20_000 }, isGet);
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 200);
    await rejectsWith(slow.load(data), 'CANCELLED');
    assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
    await rejectsWith(slow.stat(data), 'CANCELLED');
    await slow.remove(lock);
    await rejectsWith(slow.stat(lock), 'NOT_FOUND');
  });
});
