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

const [location, keyHex, killAt, when] = process.argv.slice(2) as [string, string, string, 'before' | 'after'];
let mutations = 0;

async function step<T>(op: () => Promise<T>): Promise<T> {
  const k = ++mutations;
  if (when === 'before' && k === Number(killAt)) process.kill(process.pid, 'SIGKILL');
  const r = await op();
  if (when === 'after' && k === Number(killAt)) process.kill(process.pid, 'SIGKILL');
  return r;
}

const backend = new LocalBackend(location);
const save = backend.save.bind(backend);
const remove = backend.remove.bind(backend);
backend.save = (h, data) => step(() => save(h, data));
backend.remove = (h) => step(() => remove(h));

const pool = new WorkerPool(2);
try {
  const repo = await Repository.openWithMasterKey(backend, Buffer.from(keyHex, 'hex'));
  await prune(repo, pool, { maxUnused: { percent: 5 }, maxRepackBytes: Infinity, dryRun: false });
  process.stdout.write(`${mutations}\n`);
} finally {
  await pool.close();
}
