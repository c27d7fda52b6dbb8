/**
 * S3 backend against a real S3-protocol server (s3rver over HTTPS, started
 * here) with the real SDK, through the recording proxy: the conformance
 * suite, then what s3rver cannot check itself, checked on the recorded
 * requests (SigV4 signatures, checksum headers, storage classes), then the
 * one-line errors for every way of failing to reach the repository.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { EbakError } from '../../src/errors.js';
import { awsEnvironment } from '../../src/config/index.js';
import { openBackend, type OpenOptions } from '../../src/storage/open.js';
import { collect, conformance, id, rejectsWith } from './conformance.js';
import { S3Proxy, type Recorded } from './proxy.js';
import { S3RVER_ENV, makeCert, startS3rver, type S3rver } from './s3server.js';
import { verifySigV4 } from '../../src/kms/simulated/sigv4.js';

const MiB = 1024 * 1024;
/** Small multipart settings so the conformance suite's large object goes up in 3 parts. */
const MULTIPART: OpenOptions = { multipartThresholdBytes: 6 * MiB, partBytes: 5 * MiB, partConcurrency: 2 };

let server: S3rver;
let proxy: S3Proxy;
let bucketN = 0;

before(async () => {
  server = await startS3rver();
  proxy = await S3Proxy.start(server);
});
after(async () => {
  await proxy.close();
  await server.stop();
});

const env = () => ({ ...S3RVER_ENV, AWS_CA_BUNDLE: server.tls.certFile });
const freshBucket = () => `ebak-test-${process.pid}-${++bucketN}`;
function open(location: string, extraEnv: NodeJS.ProcessEnv = {}, opts: OpenOptions = {}) {
  return openBackend(location, awsEnvironment({ ...env(), ...extraEnv }), { retry: { attempts: 3, baseDelayMs: 5 }, ...MULTIPART, ...opts });
}

conformance('s3 (s3rver over HTTPS, via proxy)', async () => open(`s3:${proxy.endpoint}/${freshBucket()}/some/prefix`), { largeBytes: 11 * MiB + 3 });

describe('s3: what the recording proxy checks', () => {
  beforeEach(() => proxy.reset());

  it('signs every request with SigV4 over the exact bytes sent', async () => {
    const b = await open(`s3:${proxy.endpoint}/${freshBucket()}`);
    await b.create();
    await b.save({ type: 'keys', name: id() }, randomBytes(1000));
    await collect(b.list('keys'));
    await b.close();
    assert.ok(proxy.requests.length >= 3);
    for (const r of proxy.requests) assert.equal(verifySigV4(r, S3RVER_ENV.AWS_SECRET_ACCESS_KEY), true, `${r.method} ${r.url}`);
    // The checker is not vacuous: one flipped body byte breaks it.
    const put = proxy.requests.find((r) => r.method === 'PUT' && r.body.length > 0) as Recorded;
    const body = Buffer.from(put.body);
    body[0] = (body[0] ?? 0) ^ 1;
    assert.equal(verifySigV4({ ...put, body }, S3RVER_ENV.AWS_SECRET_ACCESS_KEY), false);
    assert.equal(verifySigV4(put, 'wrong-secret'), false);
  });

  it('sends x-amz-checksum-sha256 of the body on single PUTs and on every part, never aws-chunked', async () => {
    const b = await open(`s3:${proxy.endpoint}/${freshBucket()}/p`);
    await b.create();
    const small = randomBytes(5000);
    const big = randomBytes(13 * MiB);
    await b.save({ type: 'data', name: id() }, small, { packKind: 'data' });
    const bigH = { type: 'data' as const, name: id() };
    await b.save(bigH, big, { packKind: 'data' });
    assert.ok((await b.load(bigH)).equals(big));
    await b.close();
    const uploads = proxy.requests.filter((r) => r.method === 'PUT' && r.body.length > 0);
    assert.equal(uploads.length, 1 + 3, 'one single PUT and three parts');
    for (const r of uploads) {
      assert.equal(r.headers['x-amz-checksum-sha256'], createHash('sha256').update(r.body).digest('base64'));
      assert.equal(Number(r.headers['content-length']), r.body.length);
      assert.ok(!String(r.headers['content-encoding'] ?? '').includes('aws-chunked'));
    }
    assert.equal(uploads.filter((r) => /[?&]partNumber=/.test(r.url)).length, 3);
    assert.ok(proxy.requests.some((r) => r.method === 'POST' && /[?&]uploads/.test(r.url)), 'CreateMultipartUpload');
    const complete = proxy.requests.find((r) => r.method === 'POST' && /[?&]uploadId=/.test(r.url));
    assert.ok(complete && complete.body.toString().includes('<ChecksumSHA256>'), 'CompleteMultipartUpload lists part checksums');
    assert.ok(proxy.maxInFlight <= 2, `part parallelism bounded by partConcurrency (saw ${proxy.maxInFlight})`);
  });

  it("takes a pack's checksum and payload hash from its id, and S3's check of them refuses bytes that do not match", async () => {
    // s3rver verifies neither header; the proxy plays S3's own check (400 BadDigest, as S3 answers),
    // and with `flip` it also corrupts the body in transit first.
    let flip = false;
    proxy.fault = (r) => {
      if (r.method !== 'PUT' || r.body.length === 0) return undefined;
      const body = Buffer.from(r.body);
      if (flip) body[body.length >> 1]! ^= 1;
      const sum = createHash('sha256').update(body).digest();
      const ok = r.headers['x-amz-checksum-sha256'] === sum.toString('base64') && r.headers['x-amz-content-sha256'] === sum.toString('hex');
      return ok ? undefined : { status: 400, code: 'BadDigest', message: 'The SHA256 you specified did not match what we received.' };
    };
    const b = await open(`s3:${proxy.endpoint}/${freshBucket()}`);
    await b.create();
    const data = randomBytes(100_000);
    const good = { type: 'data' as const, name: createHash('sha256').update(data).digest('hex') };
    await b.save(good, data, { packKind: 'data', sha256: good.name });
    const put = proxy.requests.find((r) => r.method === 'PUT' && r.body.length > 0) as Recorded;
    assert.equal(put.headers['x-amz-checksum-sha256'], Buffer.from(good.name, 'hex').toString('base64'));
    assert.equal(put.headers['x-amz-content-sha256'], good.name);
    assert.equal(verifySigV4(put, S3RVER_ENV.AWS_SECRET_ACCESS_KEY), true);
    // A byte changed after the id was computed (in memory, in the spool file): the id still goes as the checksum.
    const changed = Buffer.from(data);
    changed[7]! ^= 1;
    const bad = { type: 'data' as const, name: id() };
    const e = (await b.save(bad, changed, { packKind: 'data', sha256: good.name }).catch((x: unknown) => x)) as EbakError;
    assert.equal(e.code, 'CORRUPT', String(e));
    assert.match(e.message, /do not match their SHA-256/);
    await rejectsWith(b.stat(bad), 'NOT_FOUND');
    // A byte flipped in transit.
    flip = true;
    const other = randomBytes(1000);
    const moved = { type: 'index' as const, name: createHash('sha256').update(other).digest('hex') };
    await rejectsWith(b.save(moved, other, { sha256: moved.name }), 'CORRUPT');
    await rejectsWith(b.save({ type: 'keys', name: id() }, other), 'CORRUPT'); // no digest given: hashed here, checked the same
    flip = false;
    await rejectsWith(b.stat(moved), 'NOT_FOUND');
    await rejectsWith(b.save(moved, other, { sha256: 'not-hex' }), 'USAGE');
    await b.close();
  });

  it('puts only data packs in the data storage class (s3rver knows no GLACIER_IR)', async () => {
    const b = await open(`s3:${proxy.endpoint}/${freshBucket()}`, {}, { dataStorageClass: 'STANDARD_IA' });
    await b.create();
    const cases = [
      { h: { type: 'data' as const, name: id() }, kind: 'data' as const, want: 'STANDARD_IA' },
      { h: { type: 'data' as const, name: id() }, kind: 'tree' as const, want: 'STANDARD' },
      { h: { type: 'index' as const, name: id() }, kind: 'data' as const, want: 'STANDARD' },
      { h: { type: 'config' as const, name: 'config' }, kind: undefined, want: 'STANDARD' },
    ];
    for (const c of cases) {
      proxy.reset();
      await b.save(c.h, randomBytes(10), c.kind ? { packKind: c.kind } : undefined);
      assert.equal(proxy.requests[0]?.headers['x-amz-storage-class'], c.want, `${c.h.type} ${c.kind}`);
    }
    await b.close();
  });

  it('counts requests and bytes like the server saw them', async () => {
    const b = await open(`s3:${proxy.endpoint}/${freshBucket()}`);
    await b.create();
    const h = { type: 'snapshots' as const, name: id() };
    await b.save(h, randomBytes(777));
    await b.load(h);
    await b.load(h, { offset: 10, length: 100 });
    await b.stat(h);
    await collect(b.list('snapshots'));
    await b.remove(h);
    await rejectsWith(b.load(h), 'NOT_FOUND');
    // create() is a HEAD of the bucket, then a PUT creating it; remove() of a
    // snapshot HEADs it first (Object Lock retention, objectlock.ts).
    assert.deepEqual(b.requests(), { put: 2, get: 3, list: 1, delete: 1, head: 3, bytesUp: 777, bytesDown: 877 });
    const seen = (m: string, test: (r: Recorded) => boolean) => proxy.requests.filter((r) => r.method === m && test(r)).length;
    assert.equal(seen('GET', (r) => !r.url.includes('list-type')), 3);
    assert.equal(seen('GET', (r) => r.url.includes('list-type')), 1);
    assert.equal(seen('DELETE', () => true), 1);
    await b.close();
  });

  it('creates a missing bucket at create(), and reads before that say NO_REPOSITORY', async () => {
    const bucket = freshBucket();
    const b = await open(`s3:${proxy.endpoint}/${bucket}/repo`);
    assert.equal(await b.isRepository(), false);
    await rejectsWith(b.load({ type: 'config', name: 'config' }), 'NO_REPOSITORY');
    await rejectsWith(collect(b.list('keys')), 'NO_REPOSITORY');
    await b.create();
    await b.create();
    assert.ok(proxy.requests.some((r) => r.method === 'PUT' && new RegExp(`^/${bucket}/?$`).test(r.url)), 'CreateBucket sent');
    await rejectsWith(b.load({ type: 'config', name: 'config' }), 'NOT_FOUND');
    await b.close();
  });
});

describe('s3: one-line errors', () => {
  const SECRET = 'sEcReT-' + randomBytes(12).toString('hex');

  function assertOneLineNoSecret(e: unknown, code: string) {
    assert.ok(e instanceof EbakError, String(e));
    assert.equal(e.code, code, e.message);
    assert.ok(!e.message.includes('\n'), 'one line');
    for (const text of [e.message, e.hint ?? '', e.stack ?? '']) assert.ok(!text.includes(SECRET), 'secret leaked');
  }

  it('an unknown access key is STORAGE with a credentials hint, not retried, secret never shown', async () => {
    proxy.reset();
    const b = await open(`s3:${proxy.endpoint}/${freshBucket()}`, { AWS_ACCESS_KEY_ID: 'AKIDUNKNOWN', AWS_SECRET_ACCESS_KEY: SECRET });
    assert.ok(!b.location.includes(SECRET));
    const e = await b.save({ type: 'keys', name: id() }, randomBytes(1)).catch((x: unknown) => x);
    assertOneLineNoSecret(e, 'STORAGE');
    assert.match((e as EbakError).hint ?? '', /credentials/);
    assert.equal(proxy.requests.length, 1, 'permanent: no retry');
    await b.close();
  });

  it('credentials inside the location are refused without echoing them', async () => {
    const e = await open(`s3:https://AKID:${SECRET}@127.0.0.1:1/bucket`).catch((x: unknown) => x);
    assertOneLineNoSecret(e, 'USAGE');
  });

  it('an untrusted certificate is a STORAGE error naming the CA variables, not retried', async () => {
    const b = await openBackend(`s3:${proxy.endpoint}/${freshBucket()}`, awsEnvironment(S3RVER_ENV), { retry: { attempts: 3, baseDelayMs: 5 } });
    const e = await b.stat({ type: 'keys', name: id() }).catch((x: unknown) => x);
    assertOneLineNoSecret(e, 'STORAGE');
    assert.match((e as EbakError).hint ?? '', /NODE_EXTRA_CA_CERTS|AWS_CA_BUNDLE/);
    assert.doesNotMatch((e as EbakError).message, /gave up/);
    await b.close();
    // A different CA in the bundle is no better.
    const other = await makeCert(server.dir, 'other');
    const b2 = await openBackend(`s3:${proxy.endpoint}/${freshBucket()}`, awsEnvironment({ ...S3RVER_ENV, AWS_CA_BUNDLE: other.certFile }));
    await rejectsWith(b2.stat({ type: 'keys', name: id() }), 'STORAGE');
    await b2.close();
  });

  it('the CA is trusted through NODE_EXTRA_CA_CERTS as well as AWS_CA_BUNDLE', async () => {
    const b = await openBackend(`s3:${server.endpoint}/${freshBucket()}`, awsEnvironment({ ...S3RVER_ENV, NODE_EXTRA_CA_CERTS: server.tls.certFile }));
    await b.create();
    assert.equal(await b.isRepository(), false);
    await b.close();
  });

  it('an unreachable endpoint is STORAGE_UNREACHABLE after the retry budget', async () => {
    const port = await closedPort();
    const retries: number[] = [];
    const b = await open(`s3:https://127.0.0.1:${port}/${freshBucket()}`, {}, { retry: { attempts: 3, baseDelayMs: 5, onRetry: (i) => retries.push(i.attempt) } });
    const e = await b.stat({ type: 'keys', name: id() }).catch((x: unknown) => x);
    assertOneLineNoSecret(e, 'STORAGE_UNREACHABLE');
    assert.match((e as EbakError).message, /gave up after 3 attempts/);
    assert.deepEqual(retries, [1, 2]);
    await b.close();
  });
});

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
