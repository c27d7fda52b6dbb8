/**
 * Backup plans through the real CLI (#18): a plan file validated (every
 * problem with its line), listed, run once, its status; and the daemon run
 * for real: `@every 2s` plans against local repositories, snapshots made,
 * retention applied to the plan's own snapshots, the copy repository
 * filled, metrics served, and SIGTERM stopping it within a second with a
 * repository that checks clean.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { assertFailed, ebak, newRepo, startEbak, tempDir } from './harness.js';

const dir = await tempDir('ebak-plans-');
const main = (await newRepo(join(dir, 'main'), 'main pw')).env;
const copy = (await newRepo(join(dir, 'copy'), 'copy pw')).env;
await writeFile(join(dir, 'main.pw'), 'main pw\n');
await writeFile(join(dir, 'copy.pw'), 'copy pw\n');
const src = join(dir, 'src');
await mkdir(src);
await writeFile(join(src, 'a.txt'), 'plan data');
const env = { EBAK_CONFIG_DIR: join(dir, 'config') };

function planFile(schedule: string, extra: string[] = []): string {
  return [
    'daemon:', '  listen: 127.0.0.1:0',
    'plans:',
    '  - name: docs',
    `    repository: ${main.EBAK_REPOSITORY}`,
    `    password_file: ${join(dir, 'main.pw')}`,
    `    sources: [${src}]`,
    `    schedule: "${schedule}"`,
    '    timezone: UTC',
    '    retention:', '      keep-last: 2',
    '    copies:',
    `      - repository: ${copy.EBAK_REPOSITORY}`,
    `        password_file: ${join(dir, 'copy.pw')}`,
    ...extra, '',
  ].join('\n');
}

interface Listed { tags: string[] }
const snapshots = async (e: Record<string, string>) => JSON.parse((await ebak(['snapshots', '--json'], e)).stdout) as Listed[];

describe('plans', () => {
  it('validate names every problem with its line; list shows the next run', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, planFile('61 * * * *', ['    colour: blue']));
    const r = await ebak(['plan', 'validate', bad], env);
    assertFailed(r, 1, 'problems');
    assert.match(r.stderr, /line 8: plans\[0\]\.schedule: minute field "61"/);
    assert.match(r.stderr, /line 15: plans\[0\]\.colour: unknown field/);
    const good = join(dir, 'good.yaml');
    await writeFile(good, planFile('0 3 * * *'));
    assert.equal((await ebak(['plan', 'validate', good], env)).code, 0);
    const l = await ebak(['plan', 'list', '--plans', good, '--json'], env);
    assert.match((JSON.parse(l.stdout) as { next_run: string }[])[0]!.next_run, /T03:00:00\.000Z$/);
  });

  it('plan run: one backup tagged with the plan, retention on the plan\'s snapshots only, the copy filled; status records it', async () => {
    const good = join(dir, 'good.yaml');
    assert.equal((await ebak(['backup', src, '--tag', 'manual'], main)).code, 0); // not the plan's: retention leaves it
    for (let i = 0; i < 3; i++) {
      await writeFile(join(src, 'a.txt'), `plan data ${i}`);
      const r = await ebak(['plan', 'run', 'docs', '--plans', good, '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { ok: boolean }).ok, true);
    }
    const mine = await snapshots(main);
    assert.equal(mine.filter((s) => s.tags.includes('plan:docs')).length, 2, 'keep-last 2');
    assert.equal(mine.filter((s) => s.tags.includes('manual')).length, 1, 'other snapshots untouched');
    assert.ok((await snapshots(copy)).length >= 2, 'the copy holds the plan\'s snapshots');
    const st = await ebak(['plan', 'status', '--plans', good, '--json'], env);
    const status = (JSON.parse(st.stdout) as { plan: string; last_run: { ok: boolean; forgotten?: number } }[])[0]!;
    assert.equal(status.last_run.ok, true);
    assert.equal(status.last_run.forgotten, 1);
    assertFailed(await ebak(['plan', 'run', 'nope', '--plans', good], env), 1, 'nope');
  });

  it('the daemon runs @every plans, serves metrics, and stops on SIGTERM within a second', async () => {
    const file = join(dir, 'every.yaml');
    await writeFile(file, planFile('@every 2s'));
    const d = startEbak(['daemon', '--plans', file, '--state', join(dir, 'daemon-state.json')], env);
    let out = '';
    d.child.stdout!.on('data', (b) => (out += b));
    while (!out.includes('daemon.start')) await sleep(50);
    const listen = (JSON.parse(out.split('\n')[0]!) as { listen: string }).listen;
    // At least three runs (each a backup, a forget and a copy), however loaded the machine is.
    for (let i = 0; i < 1200 && (out.match(/"run\.end"/g) ?? []).length < 3; i++) await sleep(100);
    const m = await (await fetch(`http://${listen}/metrics`)).text();
    assert.match(m, /ebak_plan_runs_total\{plan="docs"\} [2-9]/);
    assert.match(m, /ebak_plan_last_success_timestamp_seconds\{plan="docs"\} \d/);
    assert.equal(await (await fetch(`http://${listen}/healthz`)).text(), 'ok\n');
    const stopAt = Date.now();
    d.child.kill('SIGTERM');
    const [code] = (await once(d.child, 'close')) as [number];
    const stopMs = Date.now() - stopAt;
    assert.equal(code, 0, (await d.done).stderr);
    // Within a second on an idle machine; a loaded one (the CI runner, parallel tests) gets the time scaled by its load.
    const limit = 1000 * Math.max(1, loadavg()[0]! / availableParallelism());
    const stopped = (JSON.parse(out.trim().split('\n').at(-1)!) as { time: string }).time;
    assert.ok(Date.parse(stopped) - stopAt < limit, `daemon.stop ${Date.parse(stopped) - stopAt} ms after SIGTERM (limit ${limit} ms); the process exited after ${stopMs} ms`);
    const events = out.trim().split('\n').map((l) => (JSON.parse(l) as { event: string }).event);
    assert.ok(events.filter((e) => e === 'run.end').length >= 3, events.join(','));
    assert.equal(events.at(-1), 'daemon.stop');
    const after = await snapshots(main);
    assert.equal(after.filter((s) => s.tags.includes('plan:docs')).length, 2, 'retention applied');
    assert.equal((await ebak(['check'], main)).code, 0);
    assert.equal((await ebak(['check'], copy)).code, 0);
  });
});
