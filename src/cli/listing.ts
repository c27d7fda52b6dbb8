/**
 * How a snapshot's entries are printed, for every command that lists them
 * (find, ls): restic's `ls -l` line and restic's JSON node, so scripts
 * written for restic read ours.
 *
 * A name (or link target) that is not UTF-8 is printed as its bytes in text
 * output, as restic prints them (PathBytes tracks the bytes of the paths
 * the walk builds as text). In JSON it is text with U+FFFD for each invalid
 * byte, as restic's JSON (Go's encoding/json replaces them so).
 */
import { nameBytes, type TreeNode } from '../repository/format/tree.js';
import { formatBytes } from './format.js';

/** Nanoseconds since the epoch (signed decimal) as ISO 8601, millisecond precision. */
export function nsToIso(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}

const TYPE_CHAR: Record<string, string> = { file: '-', dir: 'd', symlink: 'L', fifo: 'p', chardev: 'c', blockdev: 'b', socket: 's' };

/** `drwxr-xr-x  1000  1000  4.00 KiB 2024-01-01 10:00:00 /path` (restic's `ls -l`, uid and gid numeric); bytes when a name is not UTF-8. */
export function longLine(path: string | Buffer, n: TreeNode): string | Buffer {
  const time = nsToIso(n.mtime).replace('T', ' ').slice(0, 19);
  const target = n.type !== 'symlink' ? '' : n.rawTarget ? Buffer.concat([Buffer.from(' -> '), n.rawTarget]) : ` -> ${n.target}`;
  return joined(`${TYPE_CHAR[n.type] ?? '?'}${permissions(n.mode)} ${String(n.uid).padStart(5)} ${String(n.gid).padStart(5)} ${formatBytes(n.size ?? 0).padStart(10)} ${time} `, path, target);
}

/** An entry's text line: its path (`raw`: its bytes, from PathBytes), or with `long` the `ls -l` line. */
export function entryLine(path: string, n: TreeNode, long: boolean, raw: Buffer | undefined): string | Buffer {
  const shown = raw ?? path;
  return long ? longLine(shown, n) : shown;
}

/**
 * The bytes of the paths a walk visits (walker/index.ts builds them as
 * text): undefined for a path whose text is exact. Asked for every node
 * the walk visits, listed or not (the directories on the way count). A directory's bytes are
 * kept while the walk is below it; the walk is depth-first, so the one kept
 * under a text path is the one being walked (`a\xff` and `a\uFFFD` both
 * read "a\uFFFD").
 */
export class PathBytes {
  private readonly dirs = new Map<string, Buffer>();

  of(path: string, n: TreeNode): Buffer | undefined {
    const parent = path.slice(0, path.length - n.name.length - 1);
    const base = this.dirs.get(parent);
    const bytes = base || n.rawName ? Buffer.concat([base ?? Buffer.from(parent), SLASH, nameBytes(n)]) : undefined;
    if (n.type === 'dir') {
      if (bytes) this.dirs.set(path, bytes);
      else this.dirs.delete(path);
    }
    return bytes;
  }
}

const SLASH = Buffer.from('/');

/** Text, unless a part is bytes: then the bytes of all. */
function joined(...parts: (string | Buffer)[]): string | Buffer {
  return parts.every((p) => typeof p === 'string') ? parts.join('') : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
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
