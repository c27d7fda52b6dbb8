/**
 * The cold transition (`ebak cold`, a plan's `cold_after_days`): data packs
 * that only snapshots older than N days need move to a colder storage class,
 * each copied in place by the storage (Backend.changeStorageClass; S3
 * CopyObject onto the same key, verified). ebak decides which packs, which a
 * bucket lifecycle rule cannot: a rule sees an object's age and prefix, not
 * whether today's snapshot still reads it (docs/storage.md, "Cold
 * transition"). A data pack holding any blob a snapshot of the last N days
 * uses stays where it is, whatever its age; tree packs, index, snapshots,
 * keys and config are never moved, so listing and planning a restore never
 * touch cold data, and a restore of cold packs goes through prepareRead's
 * RestoreObject path. A pack no snapshot uses is prune's, not moved here.
 * Runs under a prune lock: backups run beside it, a prune does not (it could
 * be repacking a pack that is moving).
 */
import { EbakError, isEbakError } from '../errors.js';
import type { IndexState, Locker, SnapshotEntry, SnapshotStore, TreeLoader } from '../repository/api.js';
import type { RepoConfig } from '../repository/format/config.js';
import type { Backend, FileInfo } from '../storage/backend.js';
import { coldness, DATA_STORAGE_CLASSES } from '../storage/s3/classes.js';
import { usedBlobs, walk } from '../walker/index.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export type ColdEvent = { type: 'progress'; message: string } | WarningEvent;

export interface ColdRepository extends SnapshotStore, TreeLoader, Locker {
  readonly config: RepoConfig;
  loadIndex(): Promise<string[]>;
  readIndexState(): Promise<IndexState>;
  listPacks(): Promise<FileInfo[]>;
}

/** The storage that moves packs (an S3 backend, through its wrappers). */
export type ColdStorage = Pick<Backend, 'location' | 'changeStorageClass'>;

export interface ColdOptions extends OperationOptions<ColdEvent> {
  /** Packs only snapshots older than this many days need are moved. */
  afterDays: number;
  storageClass: string;
  /** Say which packs would move; move nothing. */
  dryRun: boolean;
  /** The clock (ms), for tests. */
  now?: () => number;
}

export interface ColdResult {
  dryRun: boolean;
  storageClass: string;
  /** Snapshots older than this (ISO 8601) are the old ones. */
  cutoff: string;
  /** Data packs only old snapshots need (moved, or to move in a dry run). */
  candidates: string[];
  /** Moved by this run. */
  moved: string[];
  /** Candidates already in that class or a colder one. */
  already: string[];
  /** Data packs a snapshot newer than the cutoff needs: they stay. */
  hot: number;
}

/**
 * The default colder class. GLACIER_IR, not DEEP_ARCHIVE: it reads at once
 * (a restore, `check --read-data`, a drill of an old snapshot need no
 * RestoreObject and no hours of waiting), its minimum is 90 days rather than
 * 180, and it costs about a fifth of STANDARD; DEEP_ARCHIVE (about a
 * quarter of GLACIER_IR again) is for data one expects never to read, given
 * by name.
 */
export const DEFAULT_COLD_CLASS = 'GLACIER_IR';

/** USAGE unless `value` is a class data packs can move to. */
export function checkColdClass(value: string, what: string): string {
  if (!(DATA_STORAGE_CLASSES as readonly string[]).includes(value))
    throw new EbakError('USAGE', `${what}: unknown S3 storage class ${JSON.stringify(value)}`, { hint: `use one of ${DATA_STORAGE_CLASSES.join(', ')}` });
  return value;
}

/** The packs to move and those that stay, from what the index and snapshots say. */
interface Selection {
  candidates: string[];
  hot: number;
}

export function moveCold(repo: ColdRepository, storage: ColdStorage, opts: ColdOptions): Promise<ColdResult> {
  const move = storage.changeStorageClass;
  if (!move) throw new EbakError('USAGE', `${storage.location} has no storage classes: cold storage is for S3 repositories`, { hint: 'data packs move to a colder class only on S3' });
  checkColdClass(opts.storageClass, 'cold storage');
  if (!Number.isSafeInteger(opts.afterDays) || opts.afterDays < 1) throw new EbakError('USAGE', `the age for cold storage must be a whole number of days, at least 1, got ${opts.afterDays}`);
  if (repo.config.object_lock)
    throw new EbakError('NOT_IMPLEMENTED', 'cold storage on a repository with S3 Object Lock is not built yet (a copy in place would keep the locked hot version too); nothing was moved');
  return runLocked(repo, 'prune', 'cold storage', opts, async () => {
    const cutoff = (opts.now ?? Date.now)() - opts.afterDays * 86_400_000;
    const sel = await select(repo, cutoff, opts);
    const listed = new Map((await repo.listPacks()).map((f) => [f.name, f.storageClass]));
    const result: ColdResult = { dryRun: opts.dryRun, storageClass: opts.storageClass, cutoff: new Date(cutoff).toISOString(), candidates: sel.candidates, moved: [], already: [], hot: sel.hot };
    if (opts.dryRun) return result;
    for (const id of sel.candidates) {
      opts.signal?.throwIfAborted();
      // The listing names the class on S3 (s3rver always says STANDARD): a pack it shows as cold enough costs no request.
      const outcome = coldness(listed.get(id)) >= coldness(opts.storageClass) ? 'unchanged' : await moveOne(move, id, opts);
      (outcome === 'moved' ? result.moved : result.already).push(id);
    }
    return result;
  });
}

async function moveOne(move: NonNullable<ColdStorage['changeStorageClass']>, id: string, opts: ColdOptions): Promise<'moved' | 'unchanged'> {
  opts.onEvent?.({ type: 'progress', message: `moving data/${id.slice(0, 8)} to ${opts.storageClass}` });
  try {
    return await move({ type: 'data', name: id, packKind: 'data' }, opts.storageClass);
  } catch (e) {
    if (!isEbakError(e, 'NOT_FOUND')) throw e;
    opts.onEvent?.({ type: 'warning', message: `data/${id} is indexed but not stored: left for \`ebak check\`` });
    return 'unchanged';
  }
}

/** Data packs by the snapshots that use them: any newer snapshot keeps a pack hot; only older ones make it a candidate. */
async function select(repo: ColdRepository, cutoff: number, opts: ColdOptions): Promise<Selection> {
  const { snapshots, damaged } = await repo.readSnapshots();
  if (damaged[0]) throw new EbakError(damaged[0].code, `${damaged[0].message}; what it needs is unknown, nothing was moved`, { hint: 'run `ebak check`' });
  opts.onEvent?.({ type: 'progress', message: 'finding the data each snapshot needs' });
  const state = await repo.readIndexState();
  await repo.loadIndex();
  const newer = await blobsOf(repo, snapshots.filter((s) => Date.parse(s.snapshot.time) >= cutoff), opts.signal);
  const older = await blobsOf(repo, snapshots.filter((s) => Date.parse(s.snapshot.time) < cutoff), opts.signal);
  const candidates: string[] = [];
  let hot = 0;
  for (const { file } of state.current) {
    for (const pack of file.packs) {
      if (pack.kind !== DATA_PACK) continue;
      const ids = pack.blobs.map((b) => b.id.toString('hex'));
      if (ids.some((b) => newer.has(b))) hot++;
      else if (ids.some((b) => older.has(b))) candidates.push(pack.id.toString('hex'));
    }
  }
  return { candidates: [...new Set(candidates)], hot };
}

/** The pack prefix's kind byte of a data pack (docs/format.md): tree packs (1) stay hot. */
const DATA_PACK = 0;

async function blobsOf(trees: TreeLoader, snapshots: readonly SnapshotEntry[], signal: AbortSignal | undefined): Promise<Set<string>> {
  const visitor = usedBlobs();
  for (const { snapshot } of snapshots) {
    signal?.throwIfAborted();
    await walk(trees, snapshot.tree, visitor);
  }
  return visitor.blobs;
}
