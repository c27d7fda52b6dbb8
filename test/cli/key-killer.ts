/**
 * The key change the crash test kills: a real process running `key add`'s
 * or `key passwd`'s repository step (Repository.addKey, or
 * replacePasswordKey under the exclusive lock, as the commands run them)
 * on a local repository, which SIGKILLs itself just before (or just after)
 * its k-th write or delete in storage (kill-points.ts). Prints the number
 * of writes and deletes when it ends without being killed.
 *   node key-killer.js <repo> <add|passwd> <old password> <new password> <k> <before|after>
 */
import { Repository } from '../../src/repository/repository.js';
import { withLock } from '../../src/repository/locks.js';
import { LocalBackend } from '../../src/storage/local.js';
import { killAt, type When } from './kill-points.js';

const [location, change, old, password, k, when] = process.argv.slice(2) as [string, 'add' | 'passwd', string, string, string, When];
const backend = new LocalBackend(location);
const mutations = killAt(backend, Number(k), when);
const repo = await Repository.open(backend, { password: old });
if (change === 'add') await repo.addKey({ password: old }, 'password', password);
else await withLock(repo, 'exclusive', () => undefined, () => repo.replacePasswordKey({ password: old }, password));
process.stdout.write(`${mutations()}\n`);
