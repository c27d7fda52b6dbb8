/**
 * Opening the repository a command works on, from the global options and
 * the environment as src/config reads it (EBAK_REPOSITORY, EBAK_S3_*): the
 * storage layer receives its settings typed.
 */
import { awsEnvironment, environment, s3Environment } from '../config/index.js';
import { EbakError } from '../errors.js';
import { checkHead, identitiesFor, openBackupSession, openSession, type Identity, type OpenedRepository, type VaultHead } from '../keys/index.js';
import type { HeadRecorder } from '../repository/api.js';
import type { RepoConfig } from '../repository/format/config.js';
import type { Repository } from '../repository/repository.js';
import type { WriteOnlyRepository } from '../repository/writeonly/repository.js';
import { WorkerPool } from '../repository/workers.js';
import { parseLocation } from '../storage/location.js';
import { openBackend, type OpenedBackend, type OpenOptions } from '../storage/open.js';
import { PackSets } from '../operations/packsets.js';
import { parseElapsed } from '../plans/elapsed.js';
import { MAX_HEAD_NAMES, type Action } from '../vault/protocol.js';
import type { Context } from './command.js';
import { interruptible as cancellable, interruptSignal } from './interrupt.js';
import { firstLineSync, secretFor } from './secrets.js';

/** The repository location, restic's way: -r or --repository-file, else EBAK_REPOSITORY or EBAK_REPOSITORY_FILE. */
export function givenLocation(ctx: Context): string | undefined {
  const g = ctx.globals;
  if (g.repo !== undefined && g.repositoryFile !== undefined) throw new EbakError('USAGE', '-r and --repository-file are mutually exclusive');
  if (g.repo !== undefined || g.repositoryFile !== undefined) return g.repo ?? firstLineSync(g.repositoryFile!);
  const e = environment(ctx.env);
  return e.repository ?? (e.repositoryFile === undefined ? undefined : firstLineSync(e.repositoryFile));
}

export function repoLocation(ctx: Context): string {
  const loc = givenLocation(ctx);
  if (!loc) throw new EbakError('USAGE', 'no repository given', { hint: 'pass -r <location> or --repository-file <file>, or set EBAK_REPOSITORY' });
  return loc;
}

export async function backendFor(ctx: Context, location = repoLocation(ctx), storage: OpenOptions = {}): Promise<OpenedBackend> {
  return openBackend(location, awsEnvironment(ctx.env), { ...storageOptions(ctx.env, location, storage), ...bandwidth(ctx) });
}

/** zstd levels of restic's --compression names (auto: the repository's own level). */
const LEVELS: Record<string, number> = { off: 0, fastest: 1, better: 9, max: 19 };

/** --compression and --pack-size (MiB) as the repository's writing settings. */
function writing(ctx: Context): { compression_level?: number; pack_size?: number } {
  const { compression, packSize } = ctx.globals;
  return {
    ...(compression !== undefined && compression !== 'auto' ? { compression_level: LEVELS[compression]! } : {}),
    ...(packSize !== undefined ? { pack_size: Number(packSize) * 1024 * 1024 } : {}),
  };
}

/** --limit-upload / --limit-download (KiB/s, as restic) in bytes per second. */
function bandwidth(ctx: Context): OpenOptions {
  const kib = (v: string | undefined) => (v === undefined ? undefined : Number(v) * 1024);
  const [up, down] = [kib(ctx.globals.limitUpload), kib(ctx.globals.limitDownload)];
  return { ...(up ? { limitUpload: up } : {}), ...(down ? { limitDownload: down } : {}) };
}

/**
 * `given` completed from the environment, for S3 locations only (a local
 * directory ignores these variables): restore waits under what the flags
 * gave, Object Lock unless given (src/config/environment.ts reads them).
 */
function storageOptions(env: NodeJS.ProcessEnv, location: string, given: OpenOptions): OpenOptions {
  if (parseLocation(location).kind !== 's3') return given;
  const s3 = s3Environment(env);
  const objectLock = given.objectLock ?? s3.objectLock;
  return { ...given, archiveRestore: { ...s3.archiveRestore, ...given.archiveRestore }, ...(objectLock ? { objectLock } : {}) };
}

/**
 * The local metadata cache's folder (--cache-dir, EBAK_CACHE_DIR, else the
 * XDG cache), or undefined under --no-cache / EBAK_NO_CACHE=1.
 */
function cacheDir(ctx: Context): string | undefined {
  const e = environment(ctx.env);
  return ctx.globals.noCache || e.cacheDir === undefined ? undefined : (ctx.globals.cacheDir ?? e.cacheDir);
}

/** Options of a command's session. */
interface SessionOptions {
  index?: boolean;
  pool?: boolean;
  storage?: OpenOptions;
  action?: Action;
  cache?: false;
  /** The command only reads: --no-lock is allowed. */
  readOnly?: true;
  /** The run's own signal (a plan job's window), besides Ctrl-C and SIGTERM: storage stops when either aborts. */
  signal?: AbortSignal;
  /** A recovery key given is a secret the command uses (rotate-master re-wraps it), not the identity: this machine's device session opens first. */
  deviceFirst?: true;
}

/**
 * What a session does with any opened repository, full key or write-only:
 * both take the run's lock retry, writing settings and head journal; only
 * the full key's reads (--no-lock).
 */
interface Opened {
  readonly config: { id: string; object_lock?: RepoConfig['object_lock'] };
  setWarningSink(sink: (message: string) => void): void;
  loadIndex(): Promise<string[]>;
  retryLocksFor?(ms: number): void;
  skipSharedLocks?(): void;
  setWriting?(o: { compression_level?: number; pack_size?: number }): void;
  setStoredSink?: Repository['setStoredSink'];
  /** A new snapshot's packs, for a vault that deletes (a write-only repository refuses them: WRITE_ONLY). */
  loadSnapshot: Repository['loadSnapshot'];
  loadTree: Repository['loadTree'];
  lookupBlob: Repository['lookupBlob'];
}

/**
 * Runs `fn` with the opened repository (index loaded when asked) and closes
 * everything after. `action` tells a vault what the command will do, so its
 * per-account policy can refuse it. `cache: false` reads everything from
 * storage (check and repair look at what storage holds, as restic's check).
 * Opened through a vault device session, storage is first checked against
 * the vault's repository head, and `head` (else undefined) is what deleting
 * writers post to; what the command stored is posted to it at the end.
 * A write-only credential is refused here (WRITE_ONLY): only `withBackupRepo` takes one.
 */
export function withRepo<T>(ctx: Context, opts: SessionOptions, fn: (repo: Repository, pool: WorkerPool | undefined, backend: OpenedBackend, head: VaultHead | undefined, packSets: PackSets) => Promise<T>): Promise<T> {
  return session(ctx, opts, openSession, fn);
}

/** As withRepo, for `backup`: a write-only credential opens too, as a repository that can only back up. */
export function withBackupRepo<T>(ctx: Context, opts: SessionOptions, fn: (repo: Repository | WriteOnlyRepository, pool: WorkerPool | undefined, backend: OpenedBackend, head: HeadRecorder | undefined, packSets: PackSets) => Promise<T>): Promise<T> {
  return session(ctx, opts, openBackupSession, fn);
}

async function session<R extends Opened, T>(
  ctx: Context, opts: SessionOptions,
  opener: (backend: OpenedBackend, identities: Identity[]) => Promise<OpenedRepository<R>>,
  fn: (repo: R, pool: WorkerPool | undefined, backend: OpenedBackend, head: VaultHead | undefined, packSets: PackSets) => Promise<T>,
): Promise<T> {
  const location = repoLocation(ctx);
  const retryMs = ctx.globals.retryLock === undefined ? 0 : parseElapsed(ctx.globals.retryLock, '--retry-lock');
  if (ctx.globals.noLock && !opts.readOnly) throw new EbakError('USAGE', '--no-lock is only for commands that only read (snapshots, ls, find, diff, cat, stats, restore, check)', { hint: 'a command that writes or deletes must lock the repository' });
  const dir = opts.cache === false ? undefined : cacheDir(ctx);
  const storage = { ...storageOptions(ctx.env, location, opts.storage ?? {}), ...bandwidth(ctx), ...(dir === undefined ? {} : { cacheDir: dir }) };
  const backend = await openBackend(location, awsEnvironment(ctx.env), storage);
  backend.cancelWith(opts.signal ? AbortSignal.any([interruptSignal, opts.signal]) : interruptSignal);
  let pool: WorkerPool | undefined;
  let head: VaultHead | undefined;
  try {
    const opened = await opener(backend, identities(ctx, opts));
    const repo = opened.repository;
    const packSets = new PackSets(repo); // a new snapshot's packs, walked once for Object Lock and the vault's record
    head = opened.head && (await headChecked(ctx, repo, opened.head, backend, packSets));
    if (opened.vaultAccount) ctx.out.warn(`vault account ${opened.vaultAccount} holds this repository; opened with the recovery key, it is not checked against the vault's repository head (a rollback goes unseen), and what this command deletes looks like a rollback to the vault's devices`);
    // The repository's own retention is known once its config is read; a flag or the environment overrides it.
    const lock = repo.config.object_lock;
    if (lock && !storage.objectLock) backend.setObjectLock(lock);
    await backend.useCache(repo.config.id);
    repo.setWarningSink((m) => ctx.out.warn(m));
    repo.retryLocksFor?.(retryMs);
    if (ctx.globals.noLock) repo.skipSharedLocks?.();
    repo.setWriting?.(writing(ctx));
    if (opts.index) await repo.loadIndex();
    if (opts.pool) pool = new WorkerPool();
    const result = await fn(repo, pool, backend, head, packSets);
    await head?.flush();
    return result;
  } catch (e) {
    await head?.flush().catch(() => undefined); // what was stored before the failure is durable: tell the head
    throw e;
  } finally {
    await pool?.close();
    await backend.close();
  }
}

/** Storage checked against the vault's repository head (src/keys/head.ts): ROLLBACK, or the head, fed every object the repository stores. */
async function headChecked(ctx: Context, repo: Opened, client: NonNullable<OpenedRepository['head']>, backend: OpenedBackend, packSets: PackSets): Promise<VaultHead> {
  const head = await checkHead(client, backend, (m) => ctx.out.warn(m));
  repo.setStoredSink?.((kind, name) => head.stored(kind, name));
  head.packsOf = (id) => packsOrWarn(ctx, repo, packSets, id);
  return head;
}

/**
 * A snapshot's packs for the vault's record, the index loaded again once if
 * the loaded one does not know them (a command that loaded none: tag). A
 * snapshot whose trees cannot be walked is left unrecorded, with a warning
 * (the vault then deletes no pack while it is protected).
 */
async function packsOrWarn(ctx: Context, repo: Opened, packSets: PackSets, id: string): Promise<string[] | undefined> {
  let why = '';
  for (const reload of [false, true]) {
    try {
      if (reload) await repo.loadIndex();
      const packs = await packSets.ofSnapshot(id);
      if (packs) return packs.length > MAX_HEAD_NAMES ? warnUnrecorded(ctx, id, `it references more than ${MAX_HEAD_NAMES} packs`) : packs;
      why = 'a blob it needs is in no indexed pack';
    } catch (e) {
      if (!(e instanceof EbakError)) throw e;
      if (e.code === 'WRITE_ONLY') return warnUnrecorded(ctx, id, e.message);
      why = e.message;
    }
  }
  return warnUnrecorded(ctx, id, why);
}

function warnUnrecorded(ctx: Context, id: string, why: string): undefined {
  ctx.out.warn(`the packs of snapshot ${id.slice(0, 8)} are not recorded with the vault (${why}): while it is protected, the vault deletes no pack`);
  return undefined;
}

/** Runs `fn` with a signal the first Ctrl-C aborts (src/cli/interrupt.ts). */
export function interruptible<T>(ctx: Context, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return cancellable((m) => ctx.out.warn(m), fn);
}

/** The identities that may open the repository, in the order src/keys/open.ts tries them. */
function identities(ctx: Context, opts: SessionOptions): Identity[] {
  const e = environment(ctx.env);
  const recoveryKeyGiven = Boolean(ctx.globals.recoveryKeyFile ?? e.recoveryKeyFile) && !opts.deviceFirst;
  return identitiesFor({ recoveryKeyGiven, configDir: e.configDir, action: opts.action, secret: () => secretFor(ctx) });
}
