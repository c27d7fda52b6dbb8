/**
 * The daemon against the S3 protocol (#18, "a real daemon test"): an
 * `@every 5s` plan whose repository and copy are on s3rver over HTTPS.
 * After about 20 s (on an idle machine) at least 3 snapshots were made, the
 * plan's retention has been applied, the copy repository holds them all, a
 * restore drill has run on its own schedule, and SIGTERM stops the daemon
 * within a second with nothing half-written: no lock left, `check` clean.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startFixture } from '../s3/fixture.js';
import { ebak, startEbak, tempDir } from './harness.js';

const fx = await startFixture();
after(() => fx.stop());
const dir = await tempDir('ebak-plans-s3-');
const BUCKET = 'plans';
const repos = { main: fx.env(`${BUCKET}/main`, { EBAK_PASSWORD: 'main pw' }, true), copy: fx.env(`${BUCKET}/copy`, { EBAK_PASSWORD: 'copy pw' }, true) };
for (const [name, env] of Object.entries(repos)) {
  assert.equal((await ebak(['init'], env)).code, 0);
  await writeFile(join(dir, `${name}.pw`), `${name} pw\n`);
}
const src = join(dir, 'src');
await mkdir(src);
await writeFile(join(src, 'a.txt'), 'data on S3');
// The S3 client's settings for the daemon, without a repository or password of its own: the plan file names them.
const { EBAK_REPOSITORY: _r, EBAK_PASSWORD: _p, ...s3 } = repos.main;
const env = { ...s3, EBAK_CONFIG_DIR: join(dir, 'config') };

const plans = join(dir, 'plans.yaml');
await writeFile(plans, [
  'plans:',
  '  - name: s3docs',
  `    repository: ${repos.main.EBAK_REPOSITORY}`,
  `    password_file: ${join(dir, 'main.pw')}`,
  `    sources: [${src}]`,
  '    schedule: "@every 5s"',
  '    retention: { keep-last: 2 }',
  '    copies:',
  `      - repository: ${repos.copy.EBAK_REPOSITORY}`,
  `        password_file: ${join(dir, 'copy.pw')}`,
  '    restore_test: { schedule: "@every 8s" }',
  '',
].join('\n'));

interface Listed { time: string; tags: string[] }
const snapshots = async (e: Record<string, string>) => (JSON.parse((await ebak(['snapshots', '--json'], e)).stdout) as Listed[]).filter((s) => s.tags.includes('plan:s3docs'));
interface Event { event: string; time: string; ok?: boolean; drill?: true }

describe('the daemon on S3', () => {
  it('@every 5s: snapshots made, retention applied, the copy filled, a drill run; SIGTERM stops it cleanly', async () => {
    const d = startEbak(['daemon', '--plans', plans, '--state', join(dir, 'state.json')], env);
    let out = '';
    d.child.stdout!.on('data', (b) => (out += b));
    const events = () => out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Event);
    const backups = () => events().filter((e) => e.event === 'run.end' && e.ok && !e.drill).length;
    // Three backups (the third makes keep-last 2 forget one) and a drill; bounded however loaded the machine is.
    for (let i = 0; i < 900 && (backups() < 3 || !events().some((e) => e.event === 'run.end' && e.drill)); i++) await sleep(100);
    const stopAt = Date.now();
    d.child.kill('SIGTERM');
    const [code] = (await once(d.child, 'close')) as [number];
    const r = await d.done;
    assert.equal(code, 0, r.stderr);
    const all = events();
    assert.ok(backups() >= 3, all.map((e) => e.event).join(','));
    const drills = all.filter((e) => e.event === 'run.end' && e.drill && Date.parse(e.time) < stopAt); // one SIGTERM cut short is cancelled
    assert.ok(drills.length >= 1 && drills.every((e) => e.ok), JSON.stringify(drills));
    const limit = 1000 * Math.max(1, loadavg()[0]! / availableParallelism());
    assert.equal(all.at(-1)!.event, 'daemon.stop');
    assert.ok(Date.parse(all.at(-1)!.time) - stopAt < limit, `daemon.stop ${Date.parse(all.at(-1)!.time) - stopAt} ms after SIGTERM (limit ${limit} ms)`);

    const main = await snapshots(repos.main);
    assert.equal(main.length, 2, 'keep-last 2 applied to the plan\'s snapshots');
    const copied = new Set((await snapshots(repos.copy)).map((s) => s.time));
    assert.ok(copied.size >= 3);
    for (const s of main) assert.ok(copied.has(s.time), `the copy holds the snapshot of ${s.time}`);
    for (const prefix of ['main', 'copy']) {
      const locks = await fx.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${prefix}/locks/` }));
      assert.equal(locks.KeyCount ?? 0, 0, `no lock left in ${prefix}`);
    }
    for (const e of Object.values(repos)) {
      const c = await ebak(['check'], e);
      assert.equal(c.code, 0, c.stderr);
    }
    const st = JSON.parse((await ebak(['plan', 'status', '--plans', plans, '--state', join(dir, 'state.json'), '--json'], env)).stdout) as { last_drill: { verified: boolean; files: number } | null }[];
    assert.equal(st[0]!.last_drill?.verified, true);
    assert.equal(st[0]!.last_drill?.files, 1);
  });
});
