/**
 * The in-process operation tests' shared set-up: a fresh local repository
 * (opened by a recovery key only) and a worker pool, made before the
 * enclosing suite's tests and closed after them.
 */
import { join } from 'node:path';
import { after, before } from 'node:test';
import { recoveryRecipient } from '../../src/keys/index.js';
import { generateRecoveryCode } from '../../src/repository/format/keyfile.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';

export interface LocalRepository {
  readonly backend: OpenedBackend;
  readonly repo: Repository;
  readonly pool: WorkerPool;
}

/** Registers the hooks on the current suite; the fields are set once its `before` hooks ran. */
export function localRepository(dir: string): LocalRepository {
  const t = {} as { -readonly [K in keyof LocalRepository]: LocalRepository[K] };
  before(async () => {
    t.backend = await openBackend(join(dir, 'repo'), {});
    t.repo = await Repository.init(t.backend, [recoveryRecipient(generateRecoveryCode())]);
    t.pool = new WorkerPool();
  });
  after(async () => {
    await t.pool?.close();
    await t.backend?.close();
  });
  return t;
}
