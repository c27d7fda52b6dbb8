/**
 * Making archived S3 objects readable (Backend.prepareRead of the S3 backend).
 *
 * GLACIER and DEEP_ARCHIVE objects cannot be read until S3 has restored a
 * temporary copy: RestoreObject starts that (minutes to 48 hours, by tier),
 * and HeadObject's x-amz-restore header says when it is done
 * (`ongoing-request="false", expiry-date=...`). This module learns each
 * object's class once (from one listing of them all when that is fewer
 * requests, else a HEAD each; an archived one is HEADed), asks for a
 * restore of each archived one that has none (a copy ready
 * or a restore under way is never asked twice: a repeated run after an
 * interruption costs no second retrieval), then polls the pending ones until
 * all are ready or the timeout passes. It talks to S3 only through the small
 * ThawOps interface, so the S3 backend owns the requests and their errors.
 * An aborted signal ends the wait at once (CANCELLED); the restores already
 * asked for go on at S3, and a later run waits only for what is not ready.
 */
import { EbakError } from '../../errors.js';
import { Semaphore } from '../../util/semaphore.js';
import type { FileType, Handle, ReadSet } from '../backend.js';
import { checkCancelled, pause } from '../cancel.js';
import { isRetryable } from '../retry.js';

export type RestoreTier = 'Expedited' | 'Standard' | 'Bulk';
export const RESTORE_TIERS: readonly RestoreTier[] = ['Expedited', 'Standard', 'Bulk'];

export interface ArchiveRestoreOptions {
  /** Days S3 keeps the restored copy (default 1: long enough for one restore). */
  readonly days?: number;
  /** Retrieval tier (default Standard: GLACIER 3-5 h, DEEP_ARCHIVE within 12 h). */
  readonly tier?: RestoreTier;
  /** Wait between polls (default 5 min; 1 min for Expedited, which takes 1-5 min). */
  readonly pollMs?: number;
  /** Give up waiting after this long (default 48 h, DEEP_ARCHIVE Bulk's upper bound). */
  readonly timeoutMs?: number;
}

/** What HeadObject says about an object's archive state. */
export interface ArchiveState {
  readonly storageClass?: string;
  /** The x-amz-restore header, if any. */
  readonly restore?: string;
}

export interface ThawOps {
  head(h: Handle): Promise<ArchiveState>;
  /** Sends RestoreObject; a restore already under way counts as success. */
  requestRestore(h: Handle, days: number, tier: RestoreTier): Promise<void>;
  /** Every object of `type` with its storage class, as ListObjectsV2 gives them (one request per LIST_PAGE); stopping early sends no more. */
  list?(type: FileType): AsyncIterable<{ readonly name: string; readonly storageClass?: string }>;
}

/** Classes that need RestoreObject before a GET (GLACIER_IR reads at once). */
const ARCHIVE_CLASSES = new Set(['GLACIER', 'DEEP_ARCHIVE']);
const HEADS_AT_ONCE = 8;
/** Objects in one ListObjectsV2 answer, at most. */
const LIST_PAGE = 1000;
/**
 * Objects listed, at most, per HEAD the listing saves. S3 bills a LIST as
 * 12.5 HEADs, so a page of 1,000 pays for itself from 80 handles' worth of
 * HEADs at most; by wall time and by the client's and server's work per
 * request it pays far sooner (a restore of 43 packs from s3rver: 43 HEADs,
 * 70-85 ms before the first data GET, or one LIST; docs/benchmarks.md, s3fast).
 */
const LISTED_PER_HEAD = 80;

type Readiness = 'ready' | 'restoring' | 'archived';

export function readiness(s: ArchiveState): Readiness {
  if (!ARCHIVE_CLASSES.has(s.storageClass ?? 'STANDARD')) return 'ready';
  const ongoing = /ongoing-request\s*=\s*"(true|false)"/i.exec(s.restore ?? '')?.[1]?.toLowerCase();
  if (ongoing === 'false') return 'ready';
  return ongoing === 'true' ? 'restoring' : 'archived';
}

/** Validates the options and fills in the defaults (USAGE on a bad value, before any request). */
export function restoreSettings(o: ArchiveRestoreOptions = {}): Required<ArchiveRestoreOptions> {
  const tier = o.tier ?? 'Standard';
  if (!RESTORE_TIERS.includes(tier)) throw new EbakError('USAGE', `unknown S3 restore tier ${JSON.stringify(tier)}`, { hint: `use one of ${RESTORE_TIERS.join(', ')}` });
  const days = o.days ?? 1;
  if (!Number.isInteger(days) || days < 1) throw new EbakError('USAGE', `S3 restore days must be a positive whole number, got ${days}`);
  const pollMs = o.pollMs ?? (tier === 'Expedited' ? 60_000 : 300_000);
  const timeoutMs = o.timeoutMs ?? 48 * 3600_000;
  for (const [name, v] of [['poll interval', pollMs], ['timeout', timeoutMs]] as const)
    if (!Number.isFinite(v) || v < 0) throw new EbakError('USAGE', `S3 restore ${name} must be a non-negative number of seconds`);
  return { days, tier, pollMs, timeoutMs };
}

/**
 * Returns once every handle is readable. Throws STORAGE (not retryable)
 * naming how many objects are still archived when `timeoutMs` passes, and
 * CANCELLED when `signal` aborts.
 */
export async function thaw(
  ops: ThawOps, wanted: ReadSet, settings: Required<ArchiveRestoreOptions>, onProgress?: (ready: number, total: number) => void, signal?: AbortSignal,
): Promise<void> {
  const { handles, readable } = await knownReadable(ops, wanted);
  const sem = new Semaphore(HEADS_AT_ONCE);
  const unknown = handles.filter((h) => !readable.has(h));
  const states = await Promise.all(unknown.map((h) => sem.run(async () => ({ h, r: readiness(await ops.head(h)) }))));
  const waiting = states.filter((s) => s.r !== 'ready');
  if (waiting.length === 0) return;
  await Promise.all(waiting.filter((s) => s.r === 'archived').map((s) => sem.run(() => ops.requestRestore(s.h, settings.days, settings.tier))));
  const total = waiting.length;
  let pending = waiting.map((s) => s.h);
  const deadline = Date.now() + settings.timeoutMs;
  onProgress?.(0, total);
  while (pending.length > 0) {
    const left = deadline - Date.now();
    if (left <= 0) throw stillArchived(pending.length, total, settings.timeoutMs);
    await pause(Math.min(settings.pollMs, left), signal, `wait for ${pending.length} of ${total} archived data packs to be restored`);
    const polled = await Promise.all(pending.map((h) => sem.run(() => poll(ops, h, signal))));
    pending = pending.filter((_, i) => !polled[i]);
    onProgress?.(total - pending.length, total);
  }
}

/** The handles wanted, and those a listing showed readable at once (the others are HEADed). */
async function knownReadable(ops: ThawOps, wanted: ReadSet): Promise<{ handles: readonly Handle[]; readable: Set<Handle> }> {
  if (!('collect' in wanted)) return { handles: wanted, readable: await readyByListing(ops, wanted) };
  const page = await wholeListing(ops, wanted.type);
  if (page && [...page.values()].every(readsAtOnce)) return { handles: [], readable: new Set() };
  const handles = await wanted.collect();
  if (!page) return { handles, readable: await readyByListing(ops, handles) };
  return { handles, readable: new Set(handles.filter((h) => page.has(h.name) && readsAtOnce(page.get(h.name)))) };
}

/** A listed class that needs no restore: a HEAD gives the same class, and readiness() calls it ready whatever its restore state. */
function readsAtOnce(storageClass: string | undefined): boolean {
  return readiness({ storageClass }) === 'ready';
}

/**
 * Every object of `type` with its class, when one page of listing (one
 * request) holds them all (fewer than LIST_PAGE); else undefined. With none
 * in a class that needs a restore, nothing needs finding: a restore's walk
 * of the trees before its first read (~150 ms of 3.1 s from s3rver;
 * docs/benchmarks.md, s3fast) is saved. A longer listing costs that request
 * before the walk, which goes on as before.
 */
async function wholeListing(ops: ThawOps, type: FileType): Promise<Map<string, string | undefined> | undefined> {
  if (!ops.list) return undefined;
  const classes = new Map<string, string | undefined>();
  // Stopped at the page's last object: asking for one more would send the next page's request.
  for await (const o of ops.list(type)) if (classes.set(o.name, o.storageClass).size >= LIST_PAGE) return undefined;
  return classes;
}

/**
 * The handles a listing shows readable at once (a class that needs no
 * restore), when listing costs fewer requests than their HEADs: the listing
 * stops once it has passed LISTED_PER_HEAD objects per handle, and what it
 * did not show readable (an archived class, whose restore state a listing
 * lacks, or not reached) is HEADed as before.
 */
async function readyByListing(ops: ThawOps, handles: readonly Handle[]): Promise<Set<Handle>> {
  const ready = new Set<Handle>();
  const type = handles[0]?.type;
  if (!ops.list || type === undefined || handles.length * LISTED_PER_HEAD < LIST_PAGE) return ready;
  const wanted = new Map(handles.filter((h) => h.type === type).map((h) => [h.name, h]));
  let budget = handles.length * LISTED_PER_HEAD;
  let seen = 0;
  for await (const o of ops.list(type)) {
    const h = wanted.get(o.name);
    if (h && readsAtOnce(o.storageClass)) ready.add(h);
    if ((h && ++seen === wanted.size) || --budget <= 0) break;
  }
  return ready;
}

/** True once readable. A transient failure of one poll is only a "not yet": the next poll asks again. */
async function poll(ops: ThawOps, h: Handle, signal: AbortSignal | undefined): Promise<boolean> {
  checkCancelled(signal, () => 'wait for archived data packs to be restored');
  try {
    return readiness(await ops.head(h)) === 'ready';
  } catch (e) {
    if (isRetryable(e)) return false;
    throw e;
  }
}

function stillArchived(n: number, total: number, timeoutMs: number): EbakError {
  return new EbakError('STORAGE', `${n} of ${total} archived data packs are still being restored by S3 after ${formatWait(timeoutMs)}; the restores go on at S3: run the command again later`, {
    hint: 'a later run waits only for the packs not yet ready; EBAK_S3_RESTORE_TIMEOUT (seconds) sets how long one run waits',
  });
}

function formatWait(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  return s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}
