/**
 * Restoring symlinks safely: a link whose target could resolve outside the
 * restore target is refused unless the caller allows it (docs/format.md,
 * "Restore safety"), because a later entry written "through" it would land
 * outside.
 */
import { lchown, lutimes, symlink } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { TreeNode } from '../repository/format/tree.js';
import { mapIoError } from '../util/fs.js';
import { isRoot, nsToDate } from './target.js';

/** Creates the link with its owner (as root) and times. */
export async function createSymlink(path: string, n: TreeNode): Promise<void> {
  try {
    await symlink(n.target!, path);
    if (isRoot) await lchown(path, n.uid, n.gid);
    await lutimes(path, nsToDate(n.mtime), nsToDate(n.mtime));
  } catch (e) {
    throw mapIoError(e, `create symlink ${path}`);
  }
}

/**
 * Whether a symlink at `path` to `target` resolves inside `root`. Lexically
 * inside is not enough: in "M/.." the ".." applies to wherever M really
 * leads, and M may be another restored symlink (M -> "." makes "M/.." the
 * target's parent). So ".." may only come before the first named component,
 * where it climbs the link's own ancestors: real directories the restore
 * created and checked. Named components then descend only through entries
 * that are themselves inside (directories, or links held to this same rule).
 */
export function staysInside(root: string, path: string, target: string): boolean {
  const parts = target.split('/').filter((p) => p !== '' && p !== '.');
  const firstNamed = parts.findIndex((p) => p !== '..');
  if (firstNamed >= 0 && parts.lastIndexOf('..') > firstNamed) return false;
  const rel = relative(root, isAbsolute(target) ? resolve(target) : resolve(dirname(path), target));
  return !(rel === '..' || rel.startsWith('../') || isAbsolute(rel));
}
