/**
 * Races between processes on the plans' shared files (src/plans/lockfile.ts),
 * real processes started to act at the same instant:
 * - a stale plan run lock (its holder gone) that several take over at once:
 *   exactly one runs at a time (the check-then-unlink of two takers used to
 *   remove the first's fresh lock, and both ran);
 * - several processes saving runs to one state file at once: every run of
 *   every process is in the file afterwards (the later rename used to drop
 *   what another had merged in the same instant).
 * And the take-over race step by step, in one process: a taker acting on
 * the stale holder it read leaves alone the lock another took meanwhile.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { it } from 'node:test';
import { newHolder, readHolder, reap } from '../../src/plans/lockfile.js';
import { PlanRunLock } from '../../src/plans/runlock.js';
import { PlanStateFile } from '../../src/plans/state.js';

const RACERS = 6;
const here = dirname(fileURLToPath(import.meta.url));
const moduleUrl = (name: string) => pathToFileURL(join(here, '..', '..', 'src', 'plans', `${name}.js`)).href;

/** Runs `code` (an ES module body) in `n` processes at once, each with its index in I; resolves when all exit 0. */
async function race(n: number, code: string): Promise<void> {
  const at = Date.now() + 2500; // all started (and their imports loaded) well before
  const body = `const I = Number(process.argv[1]); while (Date.now() < ${at}); ${code}`;
  const runs = Array.from({ length: n }, (_, i) => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', body, String(i)], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`racer ${i} exited ${c}`))));
  }));
  await Promise.all(runs);
}

it('a stale run lock taken over by several processes at once: one holder at a time', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ebak-race-lock-'));
  const lock = join(dir, 'plan-locks', 'p.lock');
  const gone = spawnSync(process.execPath, ['-e', '']).pid!; // a process of this host that no longer exists
  await mkdir(dirname(lock));
  await writeFile(lock, JSON.stringify({ pid: gone, host: hostname(), job: 'backup', started: new Date(0).toISOString() }));
  // Each holder dies holding the lock (as after kill -9): every hand-over is a take-over, raced by all still waiting.
  await race(RACERS, `
    const { PlanRunLock } = await import(${JSON.stringify(moduleUrl('runlock'))});
    const { appendFileSync } = await import('node:fs');
    await PlanRunLock.acquire(${JSON.stringify(lock)}, 'backup', { signal: new AbortController().signal, pollMs: 1 });
    appendFileSync(${JSON.stringify(join(dir, 'log'))}, 'in ' + I + '\\n');
    await new Promise((r) => setTimeout(r, 100));
    appendFileSync(${JSON.stringify(join(dir, 'log'))}, 'out ' + I + '\\n');
    process.exit(0);
  `);
  const log = (await readFile(join(dir, 'log'), 'utf8')).trim().split('\n');
  assert.equal(log.length, 2 * RACERS);
  for (let i = 0; i < log.length; i += 2) {
    assert.match(log[i]!, /^in \d$/, log.join(', '));
    assert.equal(log[i + 1], log[i]!.replace('in', 'out'), `one holder at a time: ${log.join(', ')}`);
  }
  assert.deepEqual((await readdir(dirname(lock))).filter((f) => f !== 'p.lock'), [], 'no claim or temporary file left');
  await rm(dir, { recursive: true });
});

it('runs saved by several processes to one state file at the same instant are all kept', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ebak-race-state-'));
  const path = join(dir, 'plan-state.json');
  const [writers, runs] = [4, 15];
  await race(writers, `
    const { PlanStateFile } = await import(${JSON.stringify(moduleUrl('state'))});
    const s = PlanStateFile.open(${JSON.stringify(path)});
    for (let k = 0; k < ${runs}; k++) {
      const t = new Date(Date.UTC(2026, 0, 1, I, k)).toISOString();
      await s.record('p', { scheduled: t, started: t, ms: 1, ok: true });
    }
  `);
  const kept = PlanStateFile.open(path).runs('p');
  assert.equal(kept.length, writers * runs, 'no run lost');
  assert.deepEqual((await readdir(dir)).sort(), ['plan-state.json'], 'no lock or temporary file left');
  await rm(dir, { recursive: true });
});

it('a taker acting on its stale view never removes the lock taken meanwhile (the race, step by step)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ebak-race-view-'));
  const lock = join(dir, 'p.lock');
  const stale = { pid: spawnSync(process.execPath, ['-e', '']).pid!, host: hostname(), started: new Date(0).toISOString() };
  await writeFile(lock, JSON.stringify({ ...stale, job: 'backup' }));
  const first = await PlanRunLock.acquire(lock, 'backup', { signal: new AbortController().signal }); // took the stale lock over
  const holder = readHolder(lock);
  reap(lock, stale, newHolder({})); // a second taker that judged the old holder dead before the first took over
  assert.deepEqual(readHolder(lock), holder, 'the first taker still holds the lock');
  first.release();
  assert.deepEqual(await readdir(dir), []);
  await rm(dir, { recursive: true });
});
