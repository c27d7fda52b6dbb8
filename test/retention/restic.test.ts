/**
 * Cross-check with real restic: a restic repository gets snapshots at
 * chosen times (`restic backup --time`, irregular, over two years, across
 * DST changes in America/New_York, on two hosts and two paths, some tagged),
 * and `restic forget --dry-run --json` decides a set of policies; ebak's
 * plan for the same snapshots and policies must decide the same.
 *
 * The installed restic is 0.14; restic 0.16 added one rule ("the oldest
 * snapshot is kept while a count is left", reasons starting "oldest "), and
 * ebak follows 0.17+. So ebak's decisions are compared after dropping
 * exactly those reasons: what remains must equal 0.14's keep and remove
 * sets, and 0.14's reasons, snapshot by snapshot.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { Calendar } from '../../src/retention/calendar.js';
import { parseDuration } from '../../src/retention/duration.js';
import { parseGroupBy, parseTagList, planForget, type GroupBy, type SnapshotFilter } from '../../src/retention/plan.js';
import type { ForgetPolicy } from '../../src/retention/policy.js';
import { tempDir } from '../cli/harness.js';
import { prng } from '../prng.js';

const ZONE = 'America/New_York';
const SEED = Number(process.env.EBAK_FORGET_SEED ?? 20240310);
const HAVE_RESTIC = spawnSync('restic', ['version']).status === 0;
const dir = HAVE_RESTIC ? await tempDir('ebak-restic-') : '';

interface Snap {
  id: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}

interface Run {
  /** restic's flags for this run. */
  args: string[];
  policy: ForgetPolicy;
  filter?: SnapshotFilter;
  groupBy?: GroupBy;
}

const dur = (s: string) => parseDuration(s, 'test');
const RUNS: Run[] = [
  { args: ['--keep-last', '3'], policy: { last: 3 } },
  { args: ['--keep-hourly', '5', '--keep-daily', '4'], policy: { hourly: 5, daily: 4 } },
  { args: ['--keep-daily', '7', '--keep-weekly', '5', '--keep-monthly', '12', '--keep-yearly', '3'], policy: { daily: 7, weekly: 5, monthly: 12, yearly: 3 } },
  { args: ['--keep-within', '3m10d'], policy: { within: dur('3m10d') } },
  { args: ['--keep-within', '1y2m3d4h', '--keep-last', '1'], policy: { within: dur('1y2m3d4h'), last: 1 } },
  { args: ['--keep-within-hourly', '2d', '--keep-within-daily', '20d', '--keep-within-weekly', '2m', '--keep-within-monthly', '1y', '--keep-within-yearly', '5y'],
    policy: { withinHourly: dur('2d'), withinDaily: dur('20d'), withinWeekly: dur('2m'), withinMonthly: dur('1y'), withinYearly: dur('5y') } },
  { args: ['--keep-tag', 'a,b', '--keep-tag', 'c', '--keep-last', '1'], policy: { tags: [parseTagList('a,b'), parseTagList('c')], last: 1 } },
  { args: ['--group-by', '', '--keep-weekly', '6'], policy: { weekly: 6 }, groupBy: parseGroupBy('') },
  { args: ['--group-by', 'host,tags', '--keep-monthly', '2', '--keep-daily', '1'], policy: { monthly: 2, daily: 1 }, groupBy: parseGroupBy('host,tags') },
  { args: ['--host', 'h2', '--keep-daily', '2'], policy: { daily: 2 }, filter: { hosts: ['h2'] } },
  { args: ['--tag', 'a', '--tag', 'b,c', '--keep-weekly', '2'], policy: { weekly: 2 }, filter: { tags: [['a'], ['b', 'c']] } },
];


interface Planned {
  ms: number;
  host: string;
  source: number;
  tags: string[];
}

/**
 * An irregular history (whole seconds): scattered over 2023–2024 on two
 * hosts and two paths, plus, in one group (h1, first path), bursts across
 * local midnights where New York and UTC disagree on the day and the ISO
 * week (Saturday → Sunday → Monday), and around the spring DST change. No
 * time lies within 3 h of a DST change itself (restic's --time is a local
 * wall time, ambiguous there).
 */
function history(rand: () => number, cal: Calendar): Planned[] {
  const tags = () => ['a', 'b', 'c'].filter(() => rand() < 0.4);
  const out: Planned[] = [];
  const add = (ms: number, host: string, source: number) => {
    const t = Math.floor(ms / 1000) * 1000;
    if (cal.offset(t - 3 * 3_600_000) === cal.offset(t + 3 * 3_600_000) && !out.some((p) => p.ms === t)) out.push({ ms: t, host, source, tags: tags() });
  };
  const start = Date.parse('2023-01-01T00:00:00Z');
  for (let i = 0; i < 20; i++) {
    const r = rand();
    add(start + rand() * 2 * 365 * 86_400_000, r < 0.3 ? 'h2' : 'h1', r > 0.8 ? 1 : 0);
  }
  // Local 21:00 Saturday 2024-11-09 to 03:00 Monday 2024-11-11 (EST, UTC-5): two New York midnights, bursts around each.
  for (const midnight of ['2024-11-10T05:00:00Z', '2024-11-11T05:00:00Z']) for (let i = 0; i < 5; i++) add(Date.parse(midnight) + (rand() - 0.5) * 6 * 3_600_000, 'h1', 0);
  add(Date.parse('2024-03-09T12:00:00Z'), 'h1', 0); // the days either side of the spring change
  add(Date.parse('2024-03-11T12:00:00Z'), 'h1', 0);
  return out;
}

function restic(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('restic', [...args, '--no-cache'], { env: { PATH: process.env.PATH, HOME: process.env.HOME, TZ: ZONE, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`restic ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** "YYYY-MM-DD HH:MM:SS" on the zone's wall clock, restic's --time format. */
function wallText(cal: Calendar, ms: number): string {
  const w = cal.wall(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${p(w.month)}-${p(w.day)} ${p(w.hour)}:${p(w.minute)}:${p(w.second)}`;
}

interface Outcome {
  group: string;
  keep: string[];
  remove: string[];
  reasons: Record<string, string[]>;
}

interface ResticSnap {
  id?: string;
  time: string;
}

function resticOutcome(json: string, idOf: Map<number, string>): Outcome[] {
  const groups = JSON.parse(json) as { host: string; paths: string[] | null; tags: string[] | null; keep: ResticSnap[] | null; remove: ResticSnap[] | null; reasons: { snapshot: ResticSnap; matches: string[] }[] | null }[];
  const id = (s: ResticSnap) => idOf.get(Date.parse(s.time))!;
  return groups.map((g) => ({
    group: groupName(g.host, g.paths ?? [], g.tags ?? []),
    keep: (g.keep ?? []).map(id).sort(),
    remove: (g.remove ?? []).map(id).sort(),
    reasons: Object.fromEntries((g.reasons ?? []).map((r) => [id(r.snapshot), r.matches])),
  })).sort((a, b) => a.group.localeCompare(b.group));
}

function ebakOutcome(list: Snap[], run: Run, cal: Calendar): Outcome[] {
  return planForget(list, run.policy, { calendar: cal, ...(run.filter ? { filter: run.filter } : {}), ...(run.groupBy ? { groupBy: run.groupBy } : {}) }).map((g) => {
    // restic 0.14 predates the "oldest" rule: drop exactly its reasons.
    const decided = g.decisions.map((d) => ({ id: d.snapshot.id, reasons: d.reasons.filter((r) => !r.startsWith('oldest ')) }));
    const kept = decided.filter((d) => d.reasons.length > 0);
    return {
      group: groupName(g.key.hostname, g.key.paths ?? [], g.key.tags ?? []),
      keep: kept.map((d) => d.id).sort(),
      remove: decided.filter((d) => d.reasons.length === 0).map((d) => d.id).sort(),
      reasons: Object.fromEntries(kept.map((d) => [d.id, d.reasons])),
    };
  }).sort((a, b) => a.group.localeCompare(b.group));
}

function groupName(host: string, paths: string[], tags: string[]): string {
  return JSON.stringify([host, [...paths].sort(), [...tags].sort()]);
}

describe('forget policy against real restic', { skip: HAVE_RESTIC ? false : 'restic is not installed (apt-get install restic): the cross-check cannot run' }, () => {
  const cal = new Calendar(ZONE);
  let list: Snap[] = [];
  let env: Record<string, string> = {};
  const idOf = new Map<number, string>();

  before(async () => {
    env = { RESTIC_REPOSITORY: join(dir, 'repo'), RESTIC_PASSWORD: 'x' };
    const sources = [join(dir, 'src1'), join(dir, 'src2')];
    for (const s of sources) {
      await mkdir(s);
      await writeFile(join(s, 'f'), s);
    }
    await restic(['init', '-q'], env);
    const plan = history(prng(SEED), cal);
    for (let i = 0; i < plan.length; i += 3) {
      await Promise.all(plan.slice(i, i + 3).map((p) =>
        restic(['backup', '-q', '--time', wallText(cal, p.ms), '--host', p.host, ...p.tags.flatMap((t) => ['--tag', t]), sources[p.source]!], env)));
    }
    const snaps = JSON.parse(await restic(['snapshots', '--json'], env)) as { id: string; time: string; hostname: string; paths: string[]; tags?: string[] }[];
    list = snaps.map((s) => ({ id: s.id, time: new Date(s.time).toISOString(), hostname: s.hostname, paths: s.paths, tags: s.tags ?? [] }));
    for (const s of list) idOf.set(Date.parse(s.time), s.id);
    assert.equal(list.length, plan.length, `every planned snapshot made (seed ${SEED})`);
    for (const p of plan) assert.ok(idOf.has(p.ms), `restic recorded ${new Date(p.ms).toISOString()} as given (seed ${SEED})`);
  });

  for (const run of RUNS) {
    it(`restic forget ${run.args.map((a) => a || "''").join(' ')} (seed ${SEED})`, async () => {
      const want = resticOutcome(await restic(['forget', '--dry-run', '--json', ...run.args], env), idOf);
      assert.ok(want.some((g) => g.remove.length > 0) && want.some((g) => g.keep.length > 0), 'restic both keeps and removes some');
      assert.deepEqual(ebakOutcome(list, run, cal), want);
    });
  }
});
