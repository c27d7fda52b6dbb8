/** Opening the repository a command works on, from the global options and environment. */
import { EbakError } from '../errors.js';
import { Repository } from '../repository/repository.js';
import { WorkerPool } from '../repository/workers.js';
import { openBackend, type OpenedBackend, type OpenOptions } from '../storage/open.js';
import { deviceMasterKey } from '../vault/client/device.js';
import type { Action } from '../vault/protocol.js';
import type { Context } from './command.js';
import { secretFor } from './secrets.js';

export function repoLocation(ctx: Context): string {
  const loc = ctx.globals.repo ?? ctx.env.EBAK_REPOSITORY;
  if (!loc) throw new EbakError('USAGE', 'no repository given', { hint: 'pass -r <location> or set EBAK_REPOSITORY' });
  return loc;
}

export async function backendFor(ctx: Context, location = repoLocation(ctx), storage: OpenOptions = {}): Promise<OpenedBackend> {
  return openBackend(location, ctx.env, storage);
}

/**
 * Runs `fn` with the opened repository (index loaded when asked) and closes
 * everything after. `action` tells a vault what the command will do, so its
 * per-account policy can refuse it.
 */
export async function withRepo<T>(ctx: Context, opts: { index?: boolean; pool?: boolean; storage?: OpenOptions; action?: Action }, fn: (repo: Repository, pool: WorkerPool | undefined, backend: OpenedBackend) => Promise<T>): Promise<T> {
  const location = repoLocation(ctx);
  const backends = [await backendFor(ctx, location, opts.storage)];
  let pool: WorkerPool | undefined;
  try {
    let repo = await open(ctx, backends[0]!, opts.action);
    const lock = repo.config.object_lock;
    if (lock && !opts.storage?.objectLock && !ctx.env.EBAK_S3_OBJECT_LOCK_DAYS) {
      // The repository's own retention setting is only known once its config is read:
      // continue on a backend that writes with it.
      backends.push(await backendFor(ctx, location, { ...opts.storage, objectLock: lock }));
      repo = repo.withBackend(backends[1]!);
    }
    if (opts.index) await repo.loadIndex();
    if (opts.pool) pool = new WorkerPool();
    return await fn(repo, pool, backends[backends.length - 1]!);
  } finally {
    await pool?.close();
    for (const b of backends) await b.close();
  }
}

/**
 * A recovery key given on the command line wins; otherwise a vault device
 * session for this repository (written by `ebak init --vault` / `ebak login`)
 * opens it; otherwise the password or recovery key.
 */
async function open(ctx: Context, backend: OpenedBackend, action: Action | undefined): Promise<Repository> {
  if (!(ctx.globals.recoveryKeyFile ?? ctx.env.EBAK_RECOVERY_KEY_FILE)) {
    const k = await deviceMasterKey(backend, ctx.env, action);
    if (k) {
      try {
        return await Repository.openWithMasterKey(backend, k);
      } finally {
        k.fill(0);
      }
    }
  }
  return Repository.open(backend, await secretFor(ctx));
}
