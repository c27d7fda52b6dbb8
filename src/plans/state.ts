/**
 * What the daemon and `ebak plan run` remember (docs/plans.md, "State
 * file"): per plan, the last schedule slot it was due and its recent runs,
 * in one JSON file written whole to a temporary name and renamed, so a
 * crash leaves the old state or the new, never half of one; concurrent
 * writers merge under a write lock (save). It is plain
 * metadata (times, outcomes, byte counts): no secret, no file names.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EbakError } from '../errors.js';
import { makeDirs } from '../util/fs.js';
import { withLock } from './lockfile.js';
import type { Job, ScheduleMemory } from './scheduler.js';

export const STATE_VERSION = 1;
/** Runs kept per plan: enough for `plan status` to answer "did every run of the last week succeed". */
const KEEP_RUNS = 200;

export interface RunRecord {
  scheduled: string;
  started: string;
  ms: number;
  ok: boolean;
  error?: string;
  /** The EbakError code of `error` (RETENTION: the plan's retention breaks the repository's retention lock). */
  error_code?: string;
  snapshot?: string;
  bytes_added?: number;
  forgotten?: number;
  copies?: { repository: string; copied: number; error?: string }[];
  /** cold_after_days: data packs moved to the colder class by this run. */
  cold?: { storage_class: string; moved: number; error?: string };
  /** A restore drill (restore_test): what it restored and verified, and how fast (ms: the restore time, RTO). */
  drill?: DrillRecord;
}

export interface DrillRecord {
  /** The snapshot restored ("" when the plan has none yet). */
  snapshot: string;
  files: number;
  bytes: number;
  ms: number;
  /** Every restored file read back equal to the snapshot, and no blob unreadable. */
  verified: boolean;
  /** Vault mode: the number of its entry in the vault's audit log. */
  audit_seq?: number;
}

interface PlanState {
  last_due?: string;
  last_drill_due?: string;
  runs: RunRecord[];
}

interface StateDoc {
  version: number;
  plans: Record<string, PlanState>;
}

const DUE = { backup: 'last_due', drill: 'last_drill_due' } as const satisfies Record<Job, keyof PlanState>;

export class PlanStateFile implements ScheduleMemory {
  private constructor(private readonly path: string, private readonly doc: StateDoc) {}

  /** Opens (or starts) the state file; an unknown version is refused, never overwritten. */
  static open(path: string): PlanStateFile {
    return new PlanStateFile(path, readDoc(path) ?? { version: STATE_VERSION, plans: {} });
  }

  lastDue(plan: string, job: Job): number | undefined {
    const t = this.doc.plans[plan]?.[DUE[job]];
    return t === undefined ? undefined : Date.parse(t);
  }

  setLastDue(plan: string, at: number, job: Job): void {
    this.entry(plan)[DUE[job]] = new Date(at).toISOString();
    void this.save();
  }

  /** Where the plan's run lock lives (runlock.ts): beside this file, so every process using it shares the lock. */
  runLockPath(plan: string): string {
    return join(dirname(this.path), 'plan-locks', `${plan}.lock`);
  }

  runs(plan: string): readonly RunRecord[] {
    return this.doc.plans[plan]?.runs ?? [];
  }

  async record(plan: string, run: RunRecord): Promise<void> {
    const e = this.entry(plan);
    e.runs.push(run);
    e.runs.splice(0, Math.max(0, e.runs.length - KEEP_RUNS));
    await this.save();
  }

  private entry(plan: string): PlanState {
    return (this.doc.plans[plan] ??= { runs: [] });
  }

  private writing: Promise<void> = Promise.resolve();

  /** Runs in the file this document lacks are added (in start order, the newest KEEP_RUNS kept); the later due slots win. */
  private mergeFromDisk(): void {
    const disk = readDoc(this.path);
    for (const [name, theirs] of Object.entries(disk?.plans ?? {})) {
      const mine = this.entry(name);
      const known = new Set(mine.runs.map(runKey));
      mine.runs.push(...theirs.runs.filter((r) => !known.has(runKey(r))));
      mine.runs.sort((a, b) => Date.parse(a.started) - Date.parse(b.started));
      mine.runs.splice(0, Math.max(0, mine.runs.length - KEEP_RUNS));
      for (const k of Object.values(DUE)) if (theirs[k] !== undefined && (mine[k] === undefined || Date.parse(theirs[k]) > Date.parse(mine[k]))) mine[k] = theirs[k];
    }
  }

  /**
   * Writes are serialised: each one writes the whole document as it is when
   * its turn comes, merged with what another process (`plan run` beside the
   * daemon) recorded in the file meanwhile, so neither loses the other's runs.
   * The read, merge and rename are one critical section under the file's
   * write lock (`<state>.lock`, lockfile.ts): two saves at the same instant
   * used to read the same file and the later rename dropped the other's runs.
   */
  save(): Promise<void> {
    this.writing = this.writing.then(async () => {
      await makeDirs(dirname(this.path));
      await withLock(`${this.path}.lock`, async () => {
        this.mergeFromDisk();
        const tmp = join(dirname(this.path), `.plans-state.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
        await writeFile(tmp, JSON.stringify(this.doc, null, 1), { mode: 0o600 });
        await rename(tmp, this.path);
      });
    });
    return this.writing;
  }
}

const runKey = (r: RunRecord) => `${r.scheduled} ${r.started}`;

/** The state file's document, or undefined when there is none yet. */
function readDoc(path: string): StateDoc | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EbakError('IO', `${path}: ${(e as Error).message}`);
  }
  let doc: StateDoc;
  try {
    doc = JSON.parse(text) as StateDoc;
  } catch {
    throw new EbakError('CORRUPT', `${path}: the plan state is not valid JSON`, { hint: 'move it away; the next run starts a new one' });
  }
  if (doc.version !== STATE_VERSION) throw new EbakError('UNSUPPORTED_VERSION', `${path}: plan state version ${String(doc.version)} is not supported by this ebak`);
  return doc;
}
