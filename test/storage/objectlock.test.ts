/**
 * S3 Object Lock, checked at the request level: s3rver ignores lock headers
 * (a "locked" object deletes) and answers the lock configuration requests
 * with 405/501, so the proxy records what ebak sends and plays S3's answers
 * (lock headers on HEAD, the bucket's lock configuration, the refusal of lock
 * headers by a bucket without Object Lock).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, it } from 'node:test';
import { EbakError } from '../../src/errors.js';
import type { FileType } from '../../src/storage/backend.js';
import { awsEnvironment } from '../../src/config/index.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import type { ObjectLockOptions } from '../../src/storage/s3/index.js';
import { id, rejectsWith } from './conformance.js';
import { S3Proxy, type Fault, type Recorded } from './proxy.js';
import { S3RVER_ENV, startS3rver, type S3rver } from './s3server.js';

const DAY = 86_400_000;
let server: S3rver;
let proxy: S3Proxy;
const opened: OpenedBackend[] = [];

before(async () => {
  server = await startS3rver();
  proxy = await S3Proxy.start(server);
});
after(async () => {
  for (const b of opened) await b.close();
  await proxy.close();
  await server.stop();
});
beforeEach(() => proxy.reset());

/** A backend on `bucket` through the proxy, with Object Lock as a typed option (the CLI reads it from the config or the environment). */
async function open(bucket: string, objectLock: ObjectLockOptions = { days: 30 }): Promise<OpenedBackend> {
  const b = await openBackend(`s3:${proxy.endpoint}/${bucket}`, awsEnvironment({ ...S3RVER_ENV, AWS_CA_BUNDLE: server.tls.certFile }), { retry: { attempts: 2, baseDelayMs: 1 }, multipartThresholdBytes: 5 << 20, partBytes: 5 << 20, objectLock });
  opened.push(b);
  return b;
}

const header = (r: Recorded, name: string) => r.headers[name] as string | undefined;
const isLockConfig = (r: Recorded) => r.method === 'GET' && new URL(r.url, 'https://x').searchParams.has('object-lock');
const lockXml = (body: string) => ({ reply: { status: 200, headers: { 'content-type': 'application/xml' }, body: `<?xml version="1.0" encoding="UTF-8"?><ObjectLockConfiguration>${body}</ObjectLockConfiguration>` } });

it('init on a new bucket creates it with Object Lock enabled', async () => {
  const b = await open('lock-new');
  await b.create();
  const create = proxy.requests.find((r) => r.method === 'PUT');
  assert.equal(create && header(create, 'x-amz-bucket-object-lock-enabled'), 'true');
});

it('an existing bucket: Object Lock enabled passes; none, a default retention rule, or no support are refused (USAGE)', async () => {
  const b = await open('lock-new');
  const answers: [Fault | undefined, string | undefined][] = [
    [lockXml('<ObjectLockEnabled>Enabled</ObjectLockEnabled>'), undefined],
    [{ status: 404, code: 'ObjectLockConfigurationNotFoundError' }, 'has no Object Lock enabled'],
    [lockXml('<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days></DefaultRetention></Rule>'), 'default retention rule'],
    [undefined, 'does not support S3 Object Lock'], // s3rver's own 501
  ];
  for (const [answer, refusal] of answers) {
    proxy.fault = (r) => (isLockConfig(r) ? answer : undefined);
    if (refusal === undefined) await b.create();
    else await assert.rejects(b.create(), (e: unknown) => e instanceof EbakError && e.code === 'USAGE' && e.message.includes(refusal) && !e.message.includes('\n'));
  }
  assert.equal(proxy.requests.filter(isLockConfig).length, answers.length);
});

it('data packs and snapshots are written locked for N days (single PUT and multipart); locks, index, keys and config are not', async () => {
  const b = await open('lock-new', { days: 30, mode: 'GOVERNANCE' });
  const started = Date.now();
  const types: FileType[] = ['data', 'snapshots', 'locks', 'index', 'keys'];
  for (const type of types) await b.save({ type, name: id() }, randomBytes(100));
  await b.save({ type: 'config', name: 'config' }, randomBytes(100));
  await b.save({ type: 'data', name: id() }, randomBytes(6 << 20));
  const query = (r: Recorded) => new URL(r.url, 'https://x').searchParams;
  const uploads = proxy.requests.filter((r) => (r.method === 'PUT' && !query(r).has('partNumber')) || (r.method === 'POST' && query(r).has('uploads')));
  assert.equal(uploads.length, types.length + 2, 'every single PUT and the multipart create');
  for (const r of uploads) {
    const kind = decodeURIComponent(new URL(r.url, 'https://x').pathname).split('/')[2];
    const locked = kind === 'data' || kind === 'snapshots';
    assert.equal(header(r, 'x-amz-object-lock-mode'), locked ? 'GOVERNANCE' : undefined, r.url);
    const until = header(r, 'x-amz-object-lock-retain-until-date');
    if (!locked) assert.equal(until, undefined, r.url);
    else assert.ok(Math.abs(Date.parse(until!) - (started + 30 * DAY)) < 60_000, `${r.url}: retain until ${until}`);
    // S3 wants a checksum with lock headers: every upload has one.
    if (r.method === 'PUT') assert.ok(header(r, 'x-amz-checksum-sha256'), r.url);
  }
});

it('deleting a pack or snapshot under retention or legal hold is refused before any DELETE; after retention it deletes', async () => {
  const b = await open('lock-new');
  const pack = { type: 'data' as const, name: id() };
  const snap = { type: 'snapshots' as const, name: id() };
  await b.save(pack, randomBytes(10));
  await b.save(snap, randomBytes(10));
  const until = new Date(Date.now() + 5 * DAY);
  let lockHeaders: Record<string, string> = { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': until.toISOString() };
  proxy.reset();
  proxy.fault = (r) => (r.method === 'HEAD' ? { addHeaders: lockHeaders } : undefined);
  for (const h of [pack, snap])
    await assert.rejects(b.remove(h), (e: unknown) => e instanceof EbakError && e.code === 'STORAGE' && e.message.includes(until.toISOString()) && e.message.includes(`${h.type}/${h.name}`));
  lockHeaders = { 'x-amz-object-lock-legal-hold': 'ON' };
  await rejectsWith(b.remove(pack), 'STORAGE');
  assert.deepEqual(proxy.requests.map((r) => r.method), ['HEAD', 'HEAD', 'HEAD'], 'one HEAD each, never a DELETE');
  assert.equal((await b.stat(pack)).size, 10);

  lockHeaders = { 'x-amz-object-lock-mode': 'COMPLIANCE', 'x-amz-object-lock-retain-until-date': new Date(Date.now() - DAY).toISOString() };
  proxy.reset();
  proxy.fault = (r) => (r.method === 'HEAD' ? { addHeaders: lockHeaders } : undefined);
  await b.remove(pack);
  await b.remove(pack); // gone: still not an error, and no DELETE for it
  assert.deepEqual(proxy.requests.map((r) => r.method), ['HEAD', 'DELETE', 'HEAD']);
  await rejectsWith(b.stat(pack), 'NOT_FOUND');
});

it('a bucket without Object Lock refusing the lock headers is one STORAGE line saying so, not retried', async () => {
  const b = await open('lock-new');
  proxy.fault = (r) => (r.method === 'PUT' ? { status: 400, code: 'InvalidRequest', message: 'Bucket is missing Object Lock Configuration' } : undefined);
  await assert.rejects(b.save({ type: 'data', name: id() }, randomBytes(10)), (e: unknown) => e instanceof EbakError && e.code === 'STORAGE' && e.message.includes('has no Object Lock enabled'));
  assert.equal(proxy.requests.length, 1);
});

it('a bad lock setting is refused before any request', async () => {
  const bad = [{ days: 0 }, { days: Number('x') }, { days: 7, mode: 'FOREVER' as ObjectLockOptions['mode'] }];
  for (const lock of bad) await assert.rejects(open('lock-new', lock), (e: unknown) => e instanceof EbakError && e.code === 'USAGE');
  assert.equal(proxy.requests.length, 0);
});
