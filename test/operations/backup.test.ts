/**
 * The operations as a daemon would call them: in-process, on a real local
 * repository. A backup aborted mid-way stops promptly, writes no snapshot
 * and leaves the repository consistent: the next backup (in the same
 * process, reusing the blobs already stored) and `check` succeed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { openRepository, recoveryIdentity, recoveryRecipient } from '../../src/keys/index.js';
import { backup, check, restore } from '../../src/operations/index.js';
import { generateRecoveryCode } from '../../src/repository/format/keyfile.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import { tempDir } from '../cli/harness.js';

const FILES = 48;
const MiB = 1024 * 1024;
const dir = await tempDir('ebak-operations-');
const src = join(dir, 'src');
const code = generateRecoveryCode();
let backend: OpenedBackend;
let repo: Repository;
let pool: WorkerPool;

before(async () => {
  await mkdir(src);
  for (let i = 0; i < FILES; i++) await writeFile(join(src, `f${String(i).padStart(2, '0')}`), randomBytes(MiB));
  backend = await openBackend(join(dir, 'repo'), {});
  repo = await Repository.init(backend, [recoveryRecipient(code)]);
  pool = new WorkerPool();
});
after(async () => {
  await pool.close();
  await backend.close();
});

async function names(type: 'locks' | 'index'): Promise<string[]> {
  const out: string[] = [];
  for await (const f of backend.list(type)) out.push(f.name);
  return out;
}

describe('operations', () => {
  it('an aborted backup stops promptly and writes no snapshot; the next backup and check succeed', async () => {
    const ac = new AbortController();
    let abortedAt = 0;
    let filesAtAbort = 0;
    const events: string[] = [];
    const run = backup(repo, pool, {
      paths: [src],
      signal: ac.signal,
      onEvent: (e) => {
        events.push(e.type);
        // Past 32 MiB: the blobs go to two 16 MiB packs side by side (packer.ts), so one has closed and been saved.
        if (e.type === 'progress' && e.bytes >= 36 * MiB && !ac.signal.aborted) {
          filesAtAbort = e.files;
          abortedAt = Date.now();
          ac.abort();
        }
      },
    });
    await assert.rejects(run, (e) => isEbakError(e, 'CANCELLED'));
    assert.ok(abortedAt > 0, 'the backup was aborted mid-way');
    assert.ok(Date.now() - abortedAt < 5000, `stopped ${Date.now() - abortedAt} ms after the abort`);
    assert.ok(filesAtAbort < FILES, 'not every file had been read');
    assert.ok(!events.includes('warning'), 'cancellation is not reported as unreadable files');
    assert.deepEqual(await repo.listSnapshots(), []);
    assert.ok((await names('index')).length > 0, 'the packs saved before the abort are indexed');
    assert.deepEqual(await names('locks'), [], 'the lock was released');

    const done = await backup(repo, pool, { paths: [src] });
    assert.equal(done.summary.files_new, FILES);
    assert.ok(done.summary.data_blobs_added < FILES, 'the blobs stored before the abort were reused');
    assert.deepEqual(await repo.listSnapshots(), [done.id]);

    const reopened = await openRepository(backend, [recoveryIdentity(code)]);
    const res = await check(reopened, { readData: true });
    assert.deepEqual(res.errors, []);
    assert.deepEqual(res.warnings, [], 'every saved pack is indexed');
    assert.equal(res.snapshots, 1);
  });

  it('an aborted signal cancels restore and check before they start', async () => {
    const signal = AbortSignal.abort();
    await assert.rejects(check(repo, { signal }), (e) => isEbakError(e, 'CANCELLED'));
    await repo.loadIndex();
    await assert.rejects(restore(repo, repo.blobReader(pool), { snapshot: 'latest', target: join(dir, 'out'), signal }), (e) => isEbakError(e, 'CANCELLED'));
  });

  it('restore reports progress as events and returns the snapshot id', async () => {
    const events = new Set<string>();
    const r = await restore(repo, repo.blobReader(pool), { snapshot: 'latest', target: join(dir, 'out'), onEvent: (e) => void events.add(e.type) });
    assert.deepEqual([r.files, r.errors, r.id], [FILES, 0, (await repo.findSnapshot('latest')).id]);
    assert.ok(events.has('progress'));
  });
});
