/**
 * S3 Object Lock, checked at the request level: s3rver ignores lock headers
 * (a "locked" object deletes) and answers the lock configuration requests
 * with 405/501, so the proxy records what ebak sends and plays S3's answers
 * (lock headers on HEAD, the bucket's lock configuration, the refusal of lock
 * headers by a bucket without Object Lock, PutObjectRetention: objectlock-play.ts).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, it } from 'node:test';
import { EbakError } from '../../src/errors.js';
import type { FileType } from '../../src/storage/backend.js';
import { awsEnvironment } from '../../src/config/index.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import type { ObjectLockOptions } from '../../src/storage/s3/index.js';
import { tempDir } from '../cli/harness.js';
import { id, rejectsWith } from './conformance.js';
import { playObjectLock } from './objectlock-play.js';
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
async function open(bucket: string, objectLock: ObjectLockOptions | 'none' = { days: 30 }, cacheDir?: string): Promise<OpenedBackend> {
  const lock = objectLock === 'none' ? {} : { objectLock };
  const cache = cacheDir === undefined ? {} : { cacheDir };
  const b = await openBackend(`s3:${proxy.endpoint}/${bucket}`, awsEnvironment({ ...S3RVER_ENV, AWS_CA_BUNDLE: server.tls.certFile }), { retry: { attempts: 2, baseDelayMs: 1 }, multipartThresholdBytes: 5 << 20, partBytes: 5 << 20, ...lock, ...cache });
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

it('a reused pack is extended to N × 1.25 days only when its date falls short (HEAD, then PutObjectRetention), COMPLIANCE kept, never shortened; then known without a request', async () => {
  const writer = await open('lock-new', { days: 30, mode: 'GOVERNANCE' });
  const [short, long, unlocked, own] = [id(), id(), id(), id()];
  for (const name of [short, long, unlocked, own]) await writer.save({ type: 'data', name }, randomBytes(10));
  const play = playObjectLock(proxy);
  proxy.requests.length = 0;
  const started = Date.now();
  const since = new Date(started);
  // As older uploads left them: one locked for 5 more days (COMPLIANCE), one for 60, one never locked.
  play.dates.set(`data/${short.slice(0, 2)}/${short}`, ['COMPLIANCE', started + 5 * DAY]);
  play.dates.set(`data/${long.slice(0, 2)}/${long}`, ['GOVERNANCE', started + 60 * DAY]);
  const b = await open('lock-new', { days: 30, mode: 'GOVERNANCE' }); // a later command: no table yet
  const outcome = [];
  for (const name of [short, long, unlocked]) outcome.push(await b.extendRetention!({ type: 'data', name }, since));
  assert.deepEqual(outcome, ['extended', 'unchanged', 'extended']);
  assert.deepEqual(proxy.requests.map((r) => r.method), ['HEAD', 'PUT', 'HEAD', 'HEAD', 'PUT']);
  assert.deepEqual(play.extensions.map((e) => [e.key.split('/')[2], e.mode]), [[short, 'COMPLIANCE'], [unlocked, 'GOVERNANCE']]);
  for (const e of play.extensions) {
    assert.ok(Math.abs(e.until - (started + 37.5 * DAY)) < 60_000, `${e.key}: until ${new Date(e.until).toISOString()}`);
    assert.ok(e.before === undefined || e.until >= e.before, 'never shortened');
  }
  proxy.requests.length = 0;
  for (const name of [short, long, unlocked]) assert.equal(await b.extendRetention!({ type: 'data', name }, since), 'unchanged');
  assert.equal(await writer.extendRetention!({ type: 'data', name: own }, new Date(started - 60_000)), 'unchanged', 'its own upload (after `since`) is known');
  assert.equal(proxy.requests.length, 0, 'the table answered');
});

it('the retention table survives in the local cache between commands; storage without a lock answers "unlocked" with no request', async () => {
  const cacheDir = await tempDir('ebak-lock-table-');
  const repoId = id();
  const pack = { type: 'data' as const, name: id() };
  const since = new Date();
  const first = await open('lock-new', { days: 7 }, cacheDir);
  await first.useCache(repoId);
  await first.save(pack, randomBytes(10));
  await first.close();
  assert.ok(existsSync(join(cacheDir, repoId, 'object-lock.json')));
  const next = await open('lock-new', { days: 7 }, cacheDir);
  await next.useCache(repoId);
  proxy.reset();
  assert.equal(await next.extendRetention!(pack, since), 'unchanged');
  const plain = await open('lock-new', 'none');
  assert.equal(await plain.extendRetention!(pack, since), 'unlocked');
  assert.equal(proxy.requests.length, 0);
});
