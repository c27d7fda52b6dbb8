/**
 * Tree blobs (docs/format.md, "Tree"): one directory's entries as JSON,
 * serialised deterministically (fixed field order, entries sorted by the
 * UTF-8 bytes of their names), so the same directory always gives the same
 * blob id and unchanged directories deduplicate.
 *
 * Trees come from storage, so decodeTree validates everything a restore will
 * act on: names that could leave the target directory are refused here,
 * once, for every consumer.
 */
import { EbakError } from '../../errors.js';

export const TREE_VERSION = 1;

export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  name: string;
  type: NodeType;
  /** Permission and special bits (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as a decimal string (exceeds 2^53). */
  mtime: string;
  ctime: string;
  inode: string;
  dev: string;
  links: number;
  size?: number;
  content?: string[];
  subtree?: string;
  target?: string;
}

export function encodeTree(nodes: readonly TreeNode[]): Buffer {
  const sorted = [...nodes].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  return Buffer.from(JSON.stringify({ version: TREE_VERSION, nodes: sorted.map(canonical) }));
}

/** Fixed field order; absent optional fields are omitted. */
function canonical(n: TreeNode): TreeNode {
  const out: TreeNode = {
    name: n.name, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid,
    mtime: n.mtime, ctime: n.ctime, inode: n.inode, dev: n.dev, links: n.links,
  };
  if (n.size !== undefined) out.size = n.size;
  if (n.content !== undefined) out.content = n.content;
  if (n.subtree !== undefined) out.subtree = n.subtree;
  if (n.target !== undefined) out.target = n.target;
  return out;
}

export function decodeTree(payload: Buffer, what: string): TreeNode[] {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new EbakError('CORRUPT', `${what}: tree is not valid JSON`);
  }
  const d = doc as { version?: unknown; nodes?: unknown };
  if (typeof d === 'object' && d !== null && typeof d.version === 'number' && d.version !== TREE_VERSION)
    throw new EbakError('UNSUPPORTED_VERSION', `${what}: tree version ${d.version} is not supported by this ebak`);
  if (typeof d !== 'object' || d === null || d.version !== TREE_VERSION || !Array.isArray(d.nodes))
    throw new EbakError('CORRUPT', `${what}: not a version ${TREE_VERSION} tree`);
  let prev: Buffer | undefined;
  return d.nodes.map((raw: unknown) => {
    const n = checkNode(raw, what);
    const nameBytes = Buffer.from(n.name);
    if (prev && Buffer.compare(prev, nameBytes) >= 0) throw new EbakError('CORRUPT', `${what}: entries unsorted or duplicated at ${JSON.stringify(n.name)}`);
    prev = nameBytes;
    return n;
  });
}

/** A name is one path component: never empty, ".", "..", nor containing "/" or NUL. */
export function checkName(name: string, what: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0'))
    throw new EbakError('UNSAFE_PATH', `${what}: refusing entry name ${JSON.stringify(name)} (it could escape the restore target)`);
}

const HEX64 = /^[0-9a-f]{64}$/;
const DIGITS = /^[0-9]{1,25}$/;
/** mtime is signed: a file dated before 1970 (restic restores 1960 timestamps) is a negative count of nanoseconds. */
const SIGNED_DIGITS = /^-?[0-9]{1,25}$/;

function checkNode(raw: unknown, what: string): TreeNode {
  const n = raw as Record<string, unknown>;
  const bad = (field: string) => new EbakError('CORRUPT', `${what}: invalid field "${field}" in tree entry`);
  if (typeof n !== 'object' || n === null) throw bad('node');
  if (typeof n.name !== 'string') throw bad('name');
  checkName(n.name, what);
  if (n.type !== 'file' && n.type !== 'dir' && n.type !== 'symlink') throw bad('type');
  for (const f of ['mode', 'uid', 'gid', 'links'] as const) if (!Number.isSafeInteger(n[f]) || (n[f] as number) < 0) throw bad(f);
  if ((n.mode as number) > 0o7777) throw bad('mode');
  if (typeof n.mtime !== 'string' || !SIGNED_DIGITS.test(n.mtime)) throw bad('mtime');
  // ctime is the kernel's own change time (no call sets it), so it stays unsigned.
  for (const f of ['ctime', 'inode', 'dev'] as const) if (typeof n[f] !== 'string' || !DIGITS.test(n[f] as string)) throw bad(f);
  const node = n as unknown as TreeNode;
  if (n.type === 'file') {
    if (!Number.isSafeInteger(n.size) || (n.size as number) < 0) throw bad('size');
    if (!Array.isArray(n.content) || !n.content.every((c) => typeof c === 'string' && HEX64.test(c))) throw bad('content');
  } else if (n.size !== undefined || n.content !== undefined) throw bad('content');
  if (n.type === 'dir' ? typeof n.subtree !== 'string' || !HEX64.test(n.subtree) : n.subtree !== undefined) throw bad('subtree');
  if (n.type === 'symlink' ? typeof n.target !== 'string' || n.target === '' || n.target.includes('\0') : n.target !== undefined) throw bad('target');
  return node;
}
