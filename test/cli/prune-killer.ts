/**
 * The prune the crash test kills: a real process running the prune
 * operation on a local repository, which SIGKILLs itself at a chosen
 * point: just before (or just after) its k-th write or delete in storage.
 * The storage is the real local backend; only its save and remove are
 * wrapped, to count. Prints the number of writes and deletes when it ends
 * without being killed.
 *   node prune-killer.js <repo> <key hex> <k> <before|after>
 */
import { prune } from '../../src/operations/index.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { LocalBackend } from '../../src/storage/local.js';
import { killAt, type When } from './kill-points.js';

const [location, keyHex, k, when] = process.argv.slice(2) as [string, string, string, When];
const backend = new LocalBackend(location);
const mutations = killAt(backend, Number(k), when);

const pool = new WorkerPool(2);
try {
  const repo = await Repository.openWithMasterKey(backend, Buffer.from(keyHex, 'hex'));
  await prune(repo, pool, { maxUnused: { percent: 5 }, maxRepackBytes: Infinity, dryRun: false });
  process.stdout.write(`${mutations()}\n`);
} finally {
  await pool.close();
}
