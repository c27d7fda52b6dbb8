/**
 * Restoring symlinks as they were recorded, absolute ones and ones leading
 * out of the target included (as restic, borg and tar do). What keeps a
 * restore inside its target is elsewhere and does not depend on where links
 * point: nothing is ever written through a link (files open with O_NOFOLLOW)
 * and nothing descends into an existing non-directory (target.ts).
 */
import { lchownSync, lutimesSync, symlinkSync } from 'node:fs';
import { targetBytes, type TreeNode } from '../repository/format/tree.js';
import { mapIoError } from '../util/fs.js';
import { writeXattrs } from '../util/xattr.js';
import { isRoot, nsToDate } from './target.js';

/**
 * Creates the link, its target's exact bytes, with its owner (as root), its
 * own extended attributes (set on the link, never through it) and times;
 * `onProblem` hears of each attribute not set (the link stays). Synchronous, as the
 * directories' and files' calls are (target.ts): three thread-pool round trips a link cost
 * more than the calls.
 */
export function createSymlink(path: Buffer, n: TreeNode, onProblem: (msg: string) => void): void {
  try {
    symlinkSync(targetBytes(n), path);
    if (isRoot) lchownSync(path, n.uid, n.gid);
    if (n.xattrs) for (const p of writeXattrs(path, false, n.xattrs, isRoot)) onProblem(p);
    lutimesSync(path, nsToDate(n.mtime), nsToDate(n.mtime));
  } catch (e) {
    throw mapIoError(e, `create symlink ${path}`);
  }
}
