/**
 * Object Lock retention of packs a new snapshot reuses (PutObjectRetention),
 * and the table that keeps it cheap.
 *
 * A backup locks what it uploads for N days; a pack it reuses keeps the date
 * of its own upload, so it could be deleted before the snapshot that needs it.
 * `extendPack` makes such a pack stay locked at least N days from `since`
 * (the backup's start, so the packs the backup uploaded itself, locked N
 * days from their upload, already are): it extends to N × 1.25 days
 * (EXTEND_SLACK), so a pack every daily backup reuses is extended once
 * every N / 4 days or so, not daily, and is never locked more than a
 * quarter longer than a snapshot needs.
 *
 * The table (pack → a retain-until date it is known to have) answers most
 * packs without a request: packs this process uploaded locked go in at
 * upload, and every date read or set goes in too. Object Lock dates only grow
 * (COMPLIANCE: nobody can shorten them; GOVERNANCE: only with an explicit
 * bypass, which ebak never sends), so a known date is a safe lower bound.
 * A pack the table does not cover well enough is HEADed first, and a PUT is
 * sent only when the stored date is earlier than needed, with a later one:
 * never a shorter one. The table is kept in the local cache (a JSON file per
 * repository) between commands.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { LockState, ObjectLockMode, ObjectLockOptions } from './objectlock.js';

const DAY = 86_400_000;
/** How much longer than N days an extension locks a pack (a share of N). */
export const EXTEND_SLACK = 0.25;
const FORMAT = 1;

/** Pack id → the retain-until (ms) it is known to have at least. */
export class RetentionTable {
  private readonly until = new Map<string, number>();
  private file: string | undefined;
  private dirty = false;

  /** Reads the table kept at `file` (a missing or unreadable one is empty: it only costs HEADs) and keeps it there from now on. */
  async keepIn(file: string): Promise<void> {
    this.file = file;
    try {
      const saved = JSON.parse(await readFile(file, 'utf8')) as { version?: number; packs?: Record<string, number> };
      if (saved.version !== FORMAT) return;
      for (const [pack, ms] of Object.entries(saved.packs ?? {})) if (Number.isFinite(ms)) this.learn(pack, ms);
      this.dirty = false;
    } catch {
      // no table yet
    }
  }

  get(pack: string): number | undefined {
    return this.until.get(pack);
  }

  /** Records that `pack` is retained until `ms` (the later of this and what was known). */
  learn(pack: string, ms: number): void {
    if ((this.until.get(pack) ?? -Infinity) >= ms) return;
    this.until.set(pack, ms);
    this.dirty = true;
  }

  /** Writes the table back (atomically), when it changed and has a file; best effort: a lost table costs HEADs, never safety. */
  async flush(): Promise<void> {
    if (!this.file || !this.dirty) return;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(this.file), { recursive: true });
      await writeFile(tmp, JSON.stringify({ version: FORMAT, packs: Object.fromEntries(this.until) }));
      await rename(tmp, this.file);
      this.dirty = false;
    } catch {
      // the cache is an optimisation
    }
  }
}

/** What extendPack needs of the storage: the pack's lock state and the PUT. */
export interface RetentionOps {
  head(): Promise<LockState>;
  put(mode: ObjectLockMode, until: Date): Promise<void>;
}

/**
 * Makes `pack` locked until at least `since` + N days: no request when the
 * table knows it is; else a HEAD, and a PUT when the stored date is earlier.
 * An object already in COMPLIANCE stays in COMPLIANCE (S3 refuses to turn it
 * into GOVERNANCE).
 */
export async function extendPack(pack: string, lock: Required<ObjectLockOptions>, table: RetentionTable, ops: RetentionOps, since: number): Promise<'extended' | 'unchanged'> {
  const needed = since + lock.days * DAY;
  if ((table.get(pack) ?? -Infinity) >= needed) return 'unchanged';
  const state = await ops.head();
  const current = state.retainUntil?.getTime();
  if (current !== undefined && current >= needed) {
    table.learn(pack, current);
    return 'unchanged';
  }
  const until = Math.ceil(needed + lock.days * EXTEND_SLACK * DAY);
  await ops.put(state.mode === 'COMPLIANCE' ? 'COMPLIANCE' : lock.mode, new Date(until));
  table.learn(pack, until);
  return 'extended';
}
