/**
 * The history bench/prune.ts prunes, built fast and the same for ebak and
 * restic: `snapshots` snapshots in `rounds` rounds, one a minute from a fixed
 * date (each tool is handed the time, so both histories sort the same and
 * `forget` decides the same).
 *
 *  - Each round opens with a bulk backup of `corpus`, a window of small files
 *    (one blob each): the round's `filesPerRound` new files plus every fourth
 *    file of the round before (so after `forget`, some packs are a quarter
 *    used and prune repacks them). rounds × filesPerRound blobs in all.
 *    Both tools back the same window up side by side, then it advances.
 *  - The rest of the round are its `extra` snapshots:
 *    - "copies" (the default, and the only way to 10,000 in minutes): copies
 *      of the round's bulk snapshot with later times and the bulk as parent,
 *      as a backup of the unchanged window would give, so each points at a
 *      tree the tool's own backup wrote and prune walks it. ebak saves them
 *      through its repository API; restic's are written in restic's format by
 *      bench/restic-format.ts (one scrypt in all instead of one per process);
 *    - "stdin": tiny backups of one stdin file (`tiny.txt`, a line naming the
 *      snapshot): one new blob and tree each, through each tool's backup
 *      (restic: one CLI process each, `parallel` at a time, done first while
 *      the index is small). Hours at 10,000 for restic.
 * restic's backups are driven through its CLI only (its own code writes its
 * format); ebak's through its in-process operations API (src/operations: the
 * same archiver, packer and index code the CLI runs), because one CLI process
 * per snapshot costs a second of start-up and key derivation each.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { passwordIdentity, openRepository } from '../src/keys/index.js';
import type { Snapshot } from '../src/repository/format/snapshot.js';
import { backup } from '../src/operations/index.js';
import { WorkerPool } from '../src/repository/workers.js';
import { openBackend } from '../src/storage/open.js';
import { run } from './measure.js';
import { Keystream } from './random.js';
import { masterKey, readSnapshot, writeSnapshot } from './restic-format.js';
import type { Tool } from './tools.js';

export interface HistoryParams {
  readonly dir: string;
  readonly seed: string;
  readonly snapshots: number;
  readonly rounds: number;
  readonly filesPerRound: number;
  readonly fileBytes: number;
  readonly parallel: number;
  /** How the snapshots after each round's bulk one are made (see above). */
  readonly extra: 'copies' | 'stdin';
  /** Where the file window lives (tmpfs spares the disk a million small writes). */
  readonly corpusDir: string;
}

export interface Slot {
  readonly index: number;
  readonly round: number;
  readonly bulk: boolean;
  readonly time: Date;
}

const START = Date.UTC(2025, 0, 1);
export const HOST = 'bench';
const TINY_NAME = 'tiny.txt';

/** Snapshot k of the history: round k / (snapshots / rounds), a bulk one when first of its round. */
export function slots(p: HistoryParams): Slot[] {
  if (p.rounds < 1 || p.snapshots % p.rounds !== 0) throw new Error(`BENCH_PRUNE_SNAPSHOTS (${p.snapshots}) must be a multiple of BENCH_PRUNE_ROUNDS (${p.rounds})`);
  const per = p.snapshots / p.rounds;
  return Array.from({ length: p.snapshots }, (_, k) => ({ index: k, round: Math.floor(k / per), bulk: k % per === 0, time: new Date(START + k * 60_000) }));
}

const tinyBytes = (p: HistoryParams, s: Slot) => Buffer.from(`tiny snapshot ${s.index} of ${p.seed}\n`);

/** The bulk backups' directory: round r's files plus every fourth file of round r - 1. */
export class Window {
  readonly path: string;
  private readonly bytes: Keystream;

  constructor(private readonly p: HistoryParams) {
    this.path = join(p.corpusDir, 'corpus');
    this.bytes = new Keystream(p.seed, 'prune-bytes');
    rmSync(this.path, { recursive: true, force: true });
  }

  private file(round: number, i: number): string {
    return join(this.path, `r${round}`, `d${Math.floor(i / 100)}`, `f${i}`);
  }

  advance(round: number): void {
    rmSync(join(this.path, `r${round - 2}`), { recursive: true, force: true });
    for (let i = 0; round > 0 && i < this.p.filesPerRound; i++) if (i % 4 !== 0) rmSync(this.file(round - 1, i));
    for (let i = 0; i < this.p.filesPerRound; i++) {
      if (i % 100 === 0) mkdirSync(join(this.path, `r${round}`, `d${i / 100}`), { recursive: true });
      writeFileSync(this.file(round, i), this.bytes.take(this.p.fileBytes));
    }
  }
}

/** One tool's way of writing the history's snapshots. */
export interface HistoryWriter {
  tiny(p: HistoryParams, s: Slot): Promise<void>;
  /** Backs the window up; returns the snapshot's id. */
  bulk(w: Window, s: Slot): Promise<string>;
  /** A copy of snapshot `of` at the slot's time, with `of` as its parent. */
  copy(of: string, s: Slot): Promise<void>;
  close(): Promise<void>;
}

/** restic's --time is local time: the bench runs restic with TZ=UTC. */
const resticTime = (d: Date) => d.toISOString().slice(0, 19).replace('T', ' ');

function withStdin(argv: string[], input: Buffer, t: Tool): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: t.repo, env: { ...t.env, TZ: 'UTC' }, stdio: ['pipe', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${argv.join(' ')} exited ${code}: ${Buffer.concat(err).toString().slice(-600)}`))));
    child.stdin.end(input);
  });
}

/** The full id of the snapshot restic's JSON summary line names (restic 0.14 prints the short one). */
function resticSnapshotId(repo: string, out: string): string {
  const line = out.split('\n').find((l) => l.includes('"message_type":"summary"'));
  const short = line === undefined ? undefined : (JSON.parse(line) as { snapshot_id?: string }).snapshot_id;
  const ids = short ? readdirSync(join(repo, 'snapshots')).filter((n) => n.startsWith(short)) : [];
  if (ids.length !== 1) throw new Error(`restic backup: no unique snapshot for ${short ?? out.slice(-300)}`);
  return ids[0]!;
}

function resticWriter(t: Tool): HistoryWriter {
  const common = (s: Slot) => ['--repo', t.env.RESTIC_REPOSITORY!, '--host', HOST, '--time', resticTime(s.time)];
  let key: ReturnType<typeof masterKey> | undefined;
  return {
    tiny: (p, s) => withStdin(['restic', 'backup', '-q', ...common(s), '--stdin', '--stdin-filename', TINY_NAME], tinyBytes(p, s), t),
    bulk: async (w, s) => resticSnapshotId(t.repo, await run(['restic', 'backup', '--json', ...common(s), w.path], { cwd: t.repo, env: { ...t.env, TZ: 'UTC' } })),
    copy: async (of, s) => {
      key ??= masterKey(t.repo, t.env.RESTIC_PASSWORD!);
      // restic writes RFC 3339 local time with nanoseconds; UTC with Z is the same instant to its parser.
      writeSnapshot(t.repo, key, { ...readSnapshot(t.repo, key, of), time: s.time.toISOString(), parent: of });
    },
    close: async () => {},
  };
}

async function ebakWriter(t: Tool): Promise<HistoryWriter> {
  const backend = await openBackend(t.env.EBAK_REPOSITORY!, {});
  const repo = await openRepository(backend, [passwordIdentity(t.env.EBAK_PASSWORD!)]);
  const pool = new WorkerPool();
  const common = (s: Slot) => ({ hostname: HOST, time: s.time });
  return {
    tiny: async (p, s) => {
      const bytes = tinyBytes(p, s);
      await backup(repo, pool, { ...common(s), paths: [], stdin: { name: TINY_NAME, source: (async function* () { yield bytes; })() } });
    },
    bulk: async (w, s) => (await backup(repo, pool, { ...common(s), paths: [w.path] })).id,
    copy: async (of, s) => {
      const snapshot: Snapshot = { ...(await repo.loadSnapshot(of)), time: s.time.toISOString(), parent: of };
      await repo.saveSnapshot(snapshot);
    },
    close: async () => {
      await pool.close();
      await backend.close();
    },
  };
}

export function historyWriter(t: Tool): Promise<HistoryWriter> {
  return t.name === 'ebak' ? ebakWriter(t) : Promise.resolve(resticWriter(t));
}

/** Runs `jobs` with at most `limit` at a time. */
async function bounded<T>(items: readonly T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await job(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, lane));
}

async function tinyBackups(tools: readonly Tool[], writers: readonly HistoryWriter[], p: HistoryParams, tiny: readonly Slot[], log: (s: string) => void): Promise<void> {
  for (const [i, t] of tools.entries()) {
    const t0 = performance.now();
    await bounded(tiny, t.name === 'ebak' ? 1 : p.parallel, (s) => writers[i]!.tiny(p, s));
    log(`${t.name}: ${tiny.length} tiny snapshots in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
}

/** The bulk rounds, every tool backing up the same window at once; returns each tool's bulk snapshot ids by round. */
async function bulkRounds(tools: readonly Tool[], writers: readonly HistoryWriter[], p: HistoryParams, bulk: readonly Slot[], log: (s: string) => void): Promise<string[][]> {
  const w = new Window(p);
  const spent = tools.map(() => 0);
  const ids: string[][] = tools.map(() => []);
  try {
    for (const s of bulk) {
      w.advance(s.round);
      await Promise.all(writers.map(async (writer, i) => {
        const t0 = performance.now();
        ids[i]!.push(await writer.bulk(w, s));
        spent[i]! += performance.now() - t0;
      }));
      if ((s.round + 1) % 10 === 0 || s.round + 1 === p.rounds) log(`bulk round ${s.round + 1}/${p.rounds} (${tools.map((t, i) => `${t.name} ${(spent[i]! / 1000).toFixed(0)} s`).join(', ')})`);
    }
  } finally {
    rmSync(w.path, { recursive: true, force: true });
  }
  return ids;
}

/** Writes the whole history into every tool's (initialised) repository. */
export async function buildHistory(tools: readonly Tool[], p: HistoryParams, log: (s: string) => void): Promise<void> {
  const all = slots(p);
  const rest = all.filter((s) => !s.bulk);
  const writers = await Promise.all(tools.map(historyWriter));
  try {
    if (p.extra === 'stdin') await tinyBackups(tools, writers, p, rest, log);
    const ids = await bulkRounds(tools, writers, p, all.filter((s) => s.bulk), log);
    if (p.extra !== 'copies') return;
    for (const [i, t] of tools.entries()) {
      const t0 = performance.now();
      for (const s of rest) await writers[i]!.copy(ids[i]![s.round]!, s);
      log(`${t.name}: ${rest.length} copied snapshots in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    for (const writer of writers) await writer.close();
  }
}
