/**
 * How a snapshot's entries are printed, for every command that lists them
 * (find, ls): restic's `ls -l` line and restic's JSON node, so scripts
 * written for restic read ours.
 */
import type { TreeNode } from '../repository/format/tree.js';
import { formatBytes } from './format.js';

/** Nanoseconds since the epoch (signed decimal) as ISO 8601, millisecond precision. */
export function nsToIso(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}

const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'L', fifo: 'p', chardev: 'c', blockdev: 'b', socket: 's' };

/** `drwxr-xr-x  1000  1000  4.00 KiB 2024-01-01 10:00:00 /path` (restic's `ls -l`, uid and gid numeric). */
export function longLine(path: string, n: TreeNode): string {
  const time = nsToIso(n.mtime).replace('T', ' ').slice(0, 19);
  const target = n.type === 'symlink' ? ` -> ${n.target}` : '';
  return `${TYPE_CHAR[n.type] ?? '?'}${permissions(n.mode)} ${String(n.uid).padStart(5)} ${String(n.gid).padStart(5)} ${formatBytes(n.size ?? 0).padStart(10)} ${time} ${path}${target}`;
}

function permissions(mode: number): string {
  const bits = 'rwxrwxrwx';
  let out = '';
  for (let i = 0; i < 9; i++) out += mode & (1 << (8 - i)) ? bits[i] : '-';
  return out;
}

/** restic's JSON node (`ls --json`, `find --json`): its field names, times in ISO 8601. */
export function jsonNode(path: string, n: TreeNode): Record<string, unknown> {
  return {
    name: n.name, type: n.type, path, uid: n.uid, gid: n.gid,
    ...(n.size !== undefined ? { size: n.size } : {}),
    mode: n.mode, permissions: `${TYPE_CHAR[n.type] ?? '?'}${permissions(n.mode)}`,
    mtime: nsToIso(n.mtime), ctime: nsToIso(n.ctime), inode: Number(n.inode), links: n.links,
    ...(n.target !== undefined ? { link_target: n.target } : {}),
    struct_type: 'node',
  };
}
