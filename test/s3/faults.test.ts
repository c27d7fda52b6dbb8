/**
 * Storage faults through the CLI, injected by the proxy in front of s3rver:
 * bursts of 5xx and connection resets during backup and restore are retried
 * and the results are exact; a backup whose retries run out fails with one
 * line, leaves a repository that checks clean, and the next backup works.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertFailed, fileDigests, tempDir } from '../cli/harness.js';
import type { Fault, Recorded } from '../storage/proxy.js';
import { classify, initRepo, makeSource, startFixture, type S3Fixture } from './fixture.js';

const dir = await tempDir('ebak-s3-faults-');
let fx: S3Fixture;
let env: Record<string, string>;
let src: string;

before(async () => {
  fx = await startFixture();
  src = await makeSource(dir);
  env = await initRepo(fx, dir, 'faulty/r');
});
after(() => fx.stop());

/**
 * Fails the first attempt of every other request (by URL), rotating through
 * `faults`; the retry of the same URL goes through. Returns how many it injected.
 */
function firstAttemptsFail(faults: (r: Recorded) => Fault[]): { injected: () => number } {
  const seen = new Set<string>();
  let n = 0;
  let injected = 0;
  fx.proxy.fault = (r) => {
    const key = `${r.method} ${r.url}`;
    if (seen.has(key)) return undefined;
    seen.add(key);
    if (n++ % 2 === 1) return undefined;
    const options = faults(r);
    injected++;
    return options[injected % options.length];
  };
  return { injected: () => injected };
}

const SLOW_DOWN: Fault = { status: 503, code: 'SlowDown' };
const INTERNAL: Fault = { status: 500, code: 'InternalError' };

describe('faults through the CLI', { concurrency: false }, () => {
  it('a backup through 503/500 bursts and resets before the answer succeeds, and checks clean', async () => {
    fx.proxy.reset();
    const f = firstAttemptsFail(() => [SLOW_DOWN, INTERNAL, { resetBeforeResponse: true }]);
    const r = await fx.run(['backup', src, '--json'], env);
    fx.proxy.fault = undefined;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(f.injected() >= 5, `only ${f.injected()} faults injected`);
    assert.ok(fx.proxy.requests.some((q) => q.method === 'PUT' && classify(q).kind === 'data'));
    const c = await fx.run(['check', '--read-data'], env);
    assert.equal(c.code, 0, c.stdout + c.stderr);
  });

  it('a restore through resets mid-body and 5xx bursts is byte-identical', async () => {
    fx.proxy.reset();
    const f = firstAttemptsFail((q) => (q.method === 'GET' && classify(q).kind === 'data' ? [{ resetMidBody: true }, SLOW_DOWN] : [INTERNAL, SLOW_DOWN]));
    const out = join(dir, 'restore-faults');
    const r = await fx.run(['restore', 'latest', '--target', out], env);
    fx.proxy.fault = undefined;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(f.injected() >= 5, `only ${f.injected()} faults injected`);
    assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
  });

  it('a backup whose retries run out: one line, non-zero; then check passes and the next backup works', async () => {
    await writeFile(join(src, 'new.bin'), randomBytes(2 << 20));
    fx.proxy.reset();
    // Healthy until the first pack upload, then 503 for everything, forever.
    let broken = false;
    fx.proxy.fault = (q) => {
      if (q.method === 'PUT' && classify(q).kind === 'data') broken = true;
      return broken ? SLOW_DOWN : undefined;
    };
    const failed = await fx.run(['backup', src], env);
    fx.proxy.fault = undefined;
    assertFailed(failed, 1, 'gave up after 6 attempts');
    assert.match(failed.stderr, /^hint: /m);
    const c = await fx.run(['check', '--json'], env);
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.equal((JSON.parse(c.stdout) as { snapshots: number }).snapshots, 1, 'the failed backup made no snapshot');
    const next = await fx.run(['backup', src, '--json'], env);
    assert.equal(next.code, 0, next.stderr);
    assert.match(next.stderr, /stale lock/, 'the failed run could not remove its lock; it is reported and ignored');
    const out = join(dir, 'restore-after');
    const r = await fx.run(['restore', 'latest', '--target', out], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await fileDigests(join(out, src)), await fileDigests(src));
    assert.equal((await fx.run(['check', '--read-data'], env)).code, 0);
  });
});
