/**
 * The rotation the crash test kills: a real process running `key
 * rotate-master --rewrite` (the rotateMaster operation) on a local
 * repository opened with its password, which SIGKILLs itself just before
 * (or just after) its k-th write or delete in storage (kill-points.ts).
 * Prints, when it ends without being killed, how many writes and deletes
 * the key steps made and how many the whole run made.
 *   node rotate-killer.js <repo> <password> <k> <before|after>
 */
import { rotateMaster } from '../../src/operations/index.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { LocalBackend } from '../../src/storage/local.js';
import { killAt, type When } from './kill-points.js';

const [location, password, k, when] = process.argv.slice(2) as [string, string, string, When];
const backend = new LocalBackend(location);
const mutations = killAt(backend, Number(k), when);

const pool = new WorkerPool(2);
try {
  const repo = await Repository.open(backend, { password });
  let keySteps = 0;
  await rotateMaster(repo, pool, {
    secrets: { password }, dryRun: false, resume: false, rewrite: true,
    onEvent: () => (keySteps ||= mutations()),
  });
  process.stdout.write(`${keySteps} ${mutations()}\n`);
} finally {
  await pool.close();
}
