/**
 * The CLI the vault rotation test kills: a real `ebak` run (src/cli/main.ts,
 * as bin/ebak runs it) on a local repository whose k-th write or delete
 * (locks, key files, config) SIGKILLs the process just before or just after
 * it (kill-points.ts), so a vault-mode `key rotate-master` stops between any
 * two of its steps, the vault's update among them.
 *   node rotate-vault-killer.js <k> <before|after> <ebak arguments...>
 */
import { main } from '../../src/cli/main.js';
import { LocalBackend } from '../../src/storage/local.js';
import type { When } from './kill-points.js';

const [k, when, ...args] = process.argv.slice(2) as [string, When, ...string[]];
let mutations = 0;
const proto = LocalBackend.prototype;
for (const op of ['save', 'remove'] as const) {
  const real = proto[op] as (...a: unknown[]) => Promise<unknown>;
  (proto as unknown as Record<string, unknown>)[op] = async function (this: LocalBackend, ...a: unknown[]) {
    const n = ++mutations;
    if (when === 'before' && n === Number(k)) process.kill(process.pid, 'SIGKILL');
    const r = await real.apply(this, a);
    if (when === 'after' && n === Number(k)) process.kill(process.pid, 'SIGKILL');
    return r;
  };
}
process.exitCode = await main(args);
process.stderr.write(`mutations ${mutations}\n`);
