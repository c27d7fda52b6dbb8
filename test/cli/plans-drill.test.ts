/**
 * Restore drills through the real CLI (#18): `plan run NAME --drill`
 * restores the plan's latest snapshot (or a seeded sample of its files)
 * into a scratch directory under the temp dir, verifies every byte, records
 * files, bytes, time and the verdict in the state file (plan status), and
 * removes the scratch copy; against a repository with a damaged data pack
 * it fails, naming the file; an unreadable snapshot fails it too; SIGTERM
 * cancels it, the scratch copy removed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { copyTree, ebak, flipBit, newRepo, packKind, repoFiles, startEbak, tempDir } from './harness.js';

const dir = await tempDir('ebak-drill-test-');
const repo = (await newRepo(join(dir, 'main'), 'drill pw')).env.EBAK_REPOSITORY;
await writeFile(join(dir, 'pw'), 'drill pw\n');
const src = join(dir, 'src');
await mkdir(join(src, 'sub'), { recursive: true });
const FILES: Record<string, Buffer> = {
  'big.bin': randomBytes(1 << 20),
  'a.txt': Buffer.from('alpha\n'),
  'b.txt': Buffer.from('bravo\n'),
  'sub/c.txt': Buffer.from('charlie\n'),
  'sub/d.txt': Buffer.from('delta\n'),
};
for (const [name, data] of Object.entries(FILES)) await writeFile(join(src, name), data);
const TOTAL = Object.values(FILES).reduce((n, b) => n + b.length, 0);
/** The children's temp dir: a drill's scratch copy goes here, and must be gone after. */
const scratchRoot = join(dir, 'tmp');
await mkdir(scratchRoot);
const env = { EBAK_CONFIG_DIR: join(dir, 'config'), TMPDIR: scratchRoot };

function planFile(repository: string): string {
  return [
    'plans:',
    ...['full', 'sampled'].flatMap((name) => [
      `  - name: ${name}`,
      `    repository: ${repository}`,
      `    password_file: ${join(dir, 'pw')}`,
      `    sources: [${src}]`,
      '    schedule: "@daily"',
      '    restore_test:',
      '      schedule: "@weekly"',
      ...(name === 'sampled' ? ['      sample: 2'] : []),
    ]),
    '',
  ].join('\n');
}
const plans = join(dir, 'plans.yaml');
await writeFile(plans, planFile(repo));

interface Drill { snapshot: string; files: number; bytes: number; ms: number; verified: boolean }
interface Run { ok: boolean; error?: string; snapshot?: string; drill?: Drill }
interface Status { plan: string; last_run: Run | null; last_drill: (Drill & { at: string; error?: string }) | null }

async function run(name: string, args: string[], file = plans, state?: string): Promise<{ code: number; record: Run; stderr: string }> {
  const r = await ebak(['plan', 'run', name, '--plans', file, ...(state ? ['--state', state] : []), '--json', ...args], env);
  return { code: r.code, record: JSON.parse(r.stdout) as Run, stderr: r.stderr };
}

describe('restore drills', () => {
  it('a drill with no snapshot yet fails and says so', async () => {
    const r = await run('full', ['--drill']);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.record.ok, false);
    assert.match(r.record.error!, /plan:full/);
  });

  it('restores and verifies the latest snapshot, records what it measured, and leaves no scratch copy', async () => {
    for (const name of ['full', 'sampled']) assert.equal((await run(name, [])).code, 0);
    const r = await run('full', ['--drill']);
    assert.equal(r.code, 0, r.stderr);
    const d = r.record.drill!;
    assert.equal(d.verified, true);
    assert.equal(d.files, Object.keys(FILES).length);
    assert.equal(d.bytes, TOTAL);
    assert.ok(Number.isInteger(d.ms) && d.ms >= 0);
    assert.match(d.snapshot, /^[0-9a-f]{64}$/);
    assert.deepEqual(await readdir(scratchRoot), [], 'the scratch copy is removed');

    const sampled = await run('sampled', ['--drill']);
    assert.equal(sampled.code, 0, sampled.stderr);
    assert.equal(sampled.record.drill!.files, 2, 'restore_test.sample: 2 files');
    assert.equal(sampled.record.drill!.verified, true);
    assert.deepEqual(await readdir(scratchRoot), []);
  });

  it('plan status shows the last drill beside the last backup', async () => {
    const st = await ebak(['plan', 'status', '--plans', plans, '--json'], env);
    const full = (JSON.parse(st.stdout) as Status[]).find((s) => s.plan === 'full')!;
    assert.equal(full.last_drill!.verified, true);
    assert.equal(full.last_drill!.files, Object.keys(FILES).length);
    assert.ok(!Number.isNaN(Date.parse(full.last_drill!.at)));
    assert.equal(full.last_run!.drill, undefined, 'last_run is the last backup');
    assert.match((await ebak(['plan', 'status', '--plans', plans], env)).stdout, /drill \S+: 5 files, .* verified/);
  });

  it('a damaged data pack fails the drill, naming the file; nothing is left in the temp dir', async () => {
    const damaged = join(dir, 'damaged');
    await copyTree(join(dir, 'main'), damaged);
    const data = [];
    for (const p of await repoFiles(join(damaged, 'repo'), 'data')) if ((await packKind(p)) === 0) data.push({ p, size: (await stat(p)).size });
    const pack = data.sort((a, b) => b.size - a.size)[0]!;
    await flipBit(pack.p, Math.floor(pack.size / 2)); // inside big.bin's data
    const file = join(dir, 'damaged.yaml');
    await writeFile(file, planFile(join(damaged, 'repo')));
    const r = await run('full', ['--drill'], file, join(dir, 'damaged-state.json'));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.record.ok, false);
    assert.equal(r.record.drill!.verified, false);
    assert.ok(r.record.error!.includes(join(src, 'big.bin')), r.record.error);
    assert.ok(!r.record.error!.includes(scratchRoot), 'the file is named by its snapshot path');
    assert.deepEqual(await readdir(scratchRoot), []);
    const st = await ebak(['plan', 'status', '--plans', file, '--state', join(dir, 'damaged-state.json'), '--json'], env);
    const full = (JSON.parse(st.stdout) as Status[]).find((s) => s.plan === 'full')!;
    assert.equal(full.last_drill!.verified, false);
    assert.ok(full.last_drill!.error!.includes('big.bin'));
  });

  it('an unreadable snapshot fails the drill (it may be the plan\'s latest)', async () => {
    const damaged = join(dir, 'damaged-snapshot');
    await copyTree(join(dir, 'main'), damaged);
    const snap = (await repoFiles(join(damaged, 'repo'), 'snapshots'))[0]!;
    await flipBit(snap, 40);
    const file = join(dir, 'damaged-snapshot.yaml');
    await writeFile(file, planFile(join(damaged, 'repo')));
    const r = await run('full', ['--drill'], file, join(dir, 'damaged-snapshot-state.json'));
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.record.ok, false);
    assert.ok(r.record.error!.includes(snap.split('/').at(-1)!.slice(0, 8)), r.record.error);
    assert.deepEqual(await readdir(scratchRoot), []);
  });

  it('SIGTERM during a drill cancels it and removes the scratch copy', async () => {
    const big = join(dir, 'bigsrc');
    await mkdir(big);
    for (let i = 0; i < 4; i++) await writeFile(join(big, `part${i}.bin`), randomBytes(8 << 20));
    const file = join(dir, 'big.yaml');
    await writeFile(file, planFile(repo).replaceAll(`[${src}]`, `[${big}]`).replaceAll('name: full', 'name: big'));
    assert.equal((await run('big', [], file)).code, 0);
    const d = startEbak(['plan', 'run', 'big', '--drill', '--plans', file, '--json'], env);
    let seen = false;
    for (let i = 0; i < 3000 && !seen && d.child.exitCode === null; i++) {
      seen = (await readdir(scratchRoot)).some((n) => n.startsWith('ebak-drill-'));
      if (!seen) await sleep(5);
    }
    assert.ok(seen, 'the drill made its scratch directory');
    d.child.kill('SIGTERM');
    const r = await d.done;
    assert.equal(r.code, 1, r.stderr);
    assert.match((JSON.parse(r.stdout) as Run).error!, /cancel/);
    assert.deepEqual(await readdir(scratchRoot), [], 'the scratch copy is removed');
  });
});
