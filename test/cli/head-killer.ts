/**
 * The CLI the head test kills: a real `ebak` run (src/cli/main.ts, as
 * bin/ebak runs it) that SIGKILLs itself at one point of its talk with the
 * vault's repository head: just before posting what it stored (`flush`: a
 * backup whose snapshot is in storage but not in the head) or just before
 * confirming a removal (`removed`: the names are pending, the objects gone).
 * Nothing else is changed.
 *   node head-killer.js <flush|removed> <ebak arguments...>
 */
import { main } from '../../src/cli/main.js';
import { VaultHead } from '../../src/keys/head.js';

const [point, ...args] = process.argv.slice(2);
const die = (): Promise<never> => {
  process.kill(process.pid, 'SIGKILL');
  return new Promise(() => {});
};
if (point === 'flush') VaultHead.prototype.flush = die;
else if (point === 'removed') VaultHead.prototype.removed = die;
else throw new Error(`unknown kill point ${point}`);
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
process.exitCode = await main(args);
