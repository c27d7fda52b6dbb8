/**
 * What a restore does with an entry already in the target (restic 0.17's
 * `restore --overwrite`): `always` replaces it, unless it is a regular file
 * whose content already equals the snapshot's (read and hashed, so a rerun
 * downloads nothing twice); `if-changed` trusts a file of the same size and
 * mtime without reading it; `if-newer` replaces only what is older than the
 * snapshot's entry; `never` keeps whatever is there. A directory meets a
 * directory: merged. A symlink where a file or directory goes is refused,
 * as ever: nothing is written through it, and the user's link is left alone.
 */
import type { BigIntStats } from 'node:fs';
import { EbakError } from '../errors.js';
import type { TreeNode } from '../repository/format/tree.js';

/**
 * Times a restore sets pass through a double (Node's utimes): at today's
 * dates about 0.25 µs apart, so a restored mtime may differ from the
 * recorded nanoseconds by that much. Within a microsecond counts as equal.
 */
const TIME_SLACK_NS = 1000n;

export type OverwriteMode = 'always' | 'if-changed' | 'if-newer' | 'never';

/**
 * create: nothing there; merge: a directory into the one there; keep: the
 * entry there is the snapshot's (only its metadata is set again); replace:
 * written anew over what is there; skip: left as it is.
 */
export type Decision = 'create' | 'merge' | 'keep' | 'replace' | 'skip';

/** `sameContent` is asked only for a regular file of the recorded size. */
export function decide(path: Buffer, n: TreeNode, there: BigIntStats | undefined, mode: OverwriteMode, sameContent: () => boolean): Decision {
  if (!there) return 'create';
  if (n.type === 'dir' && there.isDirectory()) return 'merge';
  if (mode === 'never') return 'skip';
  if (there.isSymbolicLink() && n.type !== 'symlink') throw refusal(path, n);
  const age = there.mtimeNs - BigInt(n.mtime);
  if (mode === 'if-newer') return age < -TIME_SLACK_NS ? 'replace' : 'skip';
  if (n.type !== 'file' || !there.isFile() || Number(there.size) !== n.size) return 'replace';
  if (mode === 'if-changed' && age <= TIME_SLACK_NS && age >= -TIME_SLACK_NS) return 'keep';
  return sameContent() ? 'keep' : 'replace';
}

function refusal(path: Buffer, n: TreeNode): EbakError {
  return n.type === 'dir'
    ? new EbakError('UNSAFE_PATH', `${path} exists and is not a directory (a symlink is never followed); remove it or restore elsewhere`)
    : new EbakError('UNSAFE_PATH', `${path} exists as a symlink; refusing to write through it`);
}
