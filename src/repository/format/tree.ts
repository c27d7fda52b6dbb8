/**
 * Tree blobs (docs/format.md, "Tree"): one directory's entries as JSON,
 * serialised deterministically (fixed field order, entries sorted by the
 * bytes of their names), so the same directory always gives the same blob id
 * and unchanged directories deduplicate.
 *
 * Names and symlink targets are bytes, as the file system has them: one that
 * is valid UTF-8 is a JSON string (ordinary trees stay readable), one that is
 * not is stored as base64 in a `_raw` field, never through U+FFFD. Version 2
 * adds those, special files (FIFOs, devices, sockets) and extended
 * attributes; version-1 trees are still read. A directory too large for one
 * blob is split (version 3, tree-split.ts): its parts are version-2 trees,
 * its root names them; decodeTree reads lists of entries only.
 *
 * Trees come from storage, so decodeTree validates everything a restore will
 * act on: names that could leave the target directory are refused here,
 * once, for every consumer.
 */
import { isUtf8 } from 'node:buffer';
import { EbakError } from '../../errors.js';
import { sameXattrs } from '../../util/xattr.js';

/** The version new lists of entries (a whole directory, or one part of a split one) are written in. */
export const TREE_VERSION = 2;
export type TreeVersion = 1 | 2;
/** The root of a split directory (tree-split.ts): known, but holds no entries of its own. */
export const SPLIT_TREE_VERSION = 3;

export type NodeType = 'file' | 'dir' | 'symlink' | 'fifo' | 'chardev' | 'blockdev' | 'socket';
const TYPES: Record<TreeVersion, readonly NodeType[]> = {
  1: ['file', 'dir', 'symlink'],
  2: ['file', 'dir', 'symlink', 'fifo', 'chardev', 'blockdev', 'socket'],
};

/** One extended attribute (ACLs and file capabilities are ones too): name and value as bytes. */
export interface Xattr {
  name: Buffer;
  value: Buffer;
}

export interface TreeNode {
  /** The name as text: exact unless `rawName` is set, then its bytes decoded with U+FFFD (for display only). */
  name: string;
  /** The name's bytes, when they are not valid UTF-8. */
  rawName?: Buffer;
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
  /** Symlinks: the target as text, exact unless `rawTarget` is set (as for names). */
  target?: string;
  rawTarget?: Buffer;
  /** Character and block devices: st_rdev, decimal. */
  rdev?: string;
  /** Sorted by name bytes; absent when there are none. */
  xattrs?: Xattr[];
}

/** Bytes as the two fields a node carries: the text, and the bytes themselves when they are not UTF-8. */
export function fromBytes(bytes: Buffer): { text: string; raw?: Buffer } {
  return isUtf8(bytes) ? { text: bytes.toString('utf8') } : { text: bytes.toString('utf8'), raw: bytes };
}

export function nameBytes(n: TreeNode): Buffer {
  return n.rawName ?? Buffer.from(n.name);
}

export function targetBytes(n: TreeNode): Buffer {
  return n.rawTarget ?? Buffer.from(n.target ?? '');
}

/** A key that tells two names apart exactly (`a\xff` from `a\uFFFD`), for maps keyed by name: the name's bytes as latin1 text. */
export function nameKey(n: TreeNode): string {
  if (n.rawName) return n.rawName.toString('latin1');
  return isAscii(n.name) ? n.name : Buffer.from(n.name).toString('latin1'); // ASCII text is its own bytes
}

/**
 * Whether every code unit of `s` is ASCII: its UTF-8 bytes are then its code
 * units, one a byte, so it is well-formed, is its own latin1 key, and
 * compares as its bytes do. Most names are, and reading a tree then makes no
 * Buffer per name (three per entry were a third of decoding one).
 */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Byte order of two nodes' names (negative: `a` first), without a Buffer when both are ASCII text. */
export function compareNames(a: TreeNode, b: TreeNode): number {
  if (!a.rawName && !b.rawName && isAscii(a.name) && isAscii(b.name)) return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  return Buffer.compare(nameBytes(a), nameBytes(b));
}

export function encodeTree(nodes: readonly TreeNode[], version: TreeVersion = TREE_VERSION): Buffer {
  // Each name's bytes once: the sort compares them n log n times.
  const keyed = nodes.map((n) => ({ n, bytes: nameBytes(n) })).sort((a, b) => Buffer.compare(a.bytes, b.bytes));
  return assembleTree(keyed.map(({ n, bytes }) => JSON.stringify(wire(n, bytes, version))), version);
}

/** One node's JSON, as encodeTree writes it (the split writer encodes each entry once, as it comes). */
export function encodeNode(n: TreeNode): string {
  return JSON.stringify(wire(n, nameBytes(n), TREE_VERSION));
}

/** The tree blob of nodes already encoded and sorted: the bytes JSON.stringify gives for the whole document. */
export function assembleTree(encoded: readonly string[], version: TreeVersion = TREE_VERSION): Buffer {
  return Buffer.from(`{"version":${version},"nodes":[${encoded.join(',')}]}`);
}

/**
 * Fixed field order; absent optional fields are omitted. Built by adding
 * properties one by one to an empty object (not by spreading), which keeps
 * V8 on its fast object shapes: encoding was 5 % of a backup's main thread.
 */
function wire(n: TreeNode, name: Buffer, version: TreeVersion): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  putBytes(out, 'name', name);
  out.type = n.type;
  out.mode = n.mode;
  out.uid = n.uid;
  out.gid = n.gid;
  out.mtime = n.mtime;
  out.ctime = n.ctime;
  out.inode = n.inode;
  out.dev = n.dev;
  out.links = n.links;
  if (n.size !== undefined) out.size = n.size;
  if (n.content !== undefined) out.content = n.content;
  if (n.subtree !== undefined) out.subtree = n.subtree;
  if (n.target !== undefined) putBytes(out, 'target', targetBytes(n));
  if (n.rdev !== undefined) out.rdev = n.rdev;
  if (n.xattrs?.length) out.xattrs = sortXattrs(n.xattrs).map(wireXattr);
  if (version === 1 && (!TYPES[1].includes(n.type) || 'name_raw' in out || 'target_raw' in out || 'rdev' in out || 'xattrs' in out))
    throw new EbakError('UNSUPPORTED_VERSION', `tree version 1 cannot hold the entry ${JSON.stringify(n.name)}`);
  return out;
}

/**
 * Whether two nodes are one entry: every field wire writes is equal, so both
 * encode to the same bytes (an unchanged directory is its parent's tree
 * again: treewriter.ts). Fields wire adds must be compared here too. A false
 * "different" only costs an encoding; a false "same" would record a stale entry.
 */
export function sameNode(a: TreeNode, b: TreeNode): boolean {
  return a.name === b.name && sameRaw(a.rawName, b.rawName) && a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid &&
    a.mtime === b.mtime && a.ctime === b.ctime && a.inode === b.inode && a.dev === b.dev && a.links === b.links && a.size === b.size &&
    sameIds(a.content, b.content) && a.subtree === b.subtree && a.target === b.target && sameRaw(a.rawTarget, b.rawTarget) && a.rdev === b.rdev &&
    sameXattrs(a.xattrs, b.xattrs);
}

function sameRaw(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.equals(b));
}

function sameIds(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true; // an unchanged file's node takes its parent's content list itself
  return a !== undefined && b !== undefined && a.length === b.length && a.every((id, i) => id === b[i]);
}

function wireXattr(x: Xattr): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  putBytes(out, 'name', x.name);
  out.value = x.value.toString('base64');
  return out;
}

/** Sets `key` to the bytes as text when they are UTF-8, else `key_raw` to their base64. */
export function putBytes(out: Record<string, unknown>, key: string, bytes: Buffer): void {
  if (isUtf8(bytes)) out[key] = bytes.toString('utf8');
  else out[`${key}_raw`] = bytes.toString('base64');
}

function sortXattrs(xs: readonly Xattr[]): Xattr[] {
  return [...xs].sort((a, b) => Buffer.compare(a.name, b.name));
}

/** A tree blob's JSON document, its version known (1, 2 or 3); the fields are the version's reader's to check. */
export function parseTreeDocument(payload: Buffer, what: string): Record<string, unknown> & { version: TreeVersion | typeof SPLIT_TREE_VERSION } {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new EbakError('CORRUPT', `${what}: tree is not valid JSON`);
  }
  const d = doc as { version?: unknown };
  if (typeof d === 'object' && d !== null && typeof d.version === 'number' && d.version !== 1 && d.version !== 2 && d.version !== SPLIT_TREE_VERSION)
    throw new EbakError('UNSUPPORTED_VERSION', `${what}: tree version ${d.version} is not supported by this ebak`);
  if (typeof d !== 'object' || d === null || Array.isArray(d) || typeof d.version !== 'number')
    throw new EbakError('CORRUPT', `${what}: not a version 1, 2 or ${SPLIT_TREE_VERSION} tree`);
  return d as Record<string, unknown> & { version: TreeVersion | typeof SPLIT_TREE_VERSION };
}

/** A list of entries (version 1 or 2: a whole directory, or one part of a split one). */
export function decodeTree(payload: Buffer, what: string): TreeNode[] {
  return readEntries(parseTreeDocument(payload, what), what);
}

/** The entries of a parsed document; a split directory's root (version 3) holds none and is refused here. */
export function readEntries(d: ReturnType<typeof parseTreeDocument>, what: string): TreeNode[] {
  if (d.version === SPLIT_TREE_VERSION) throw new EbakError('CORRUPT', `${what}: the root of a split directory where a list of entries belongs`);
  if (!Array.isArray(d.nodes)) throw new EbakError('CORRUPT', `${what}: not a version 1 or ${TREE_VERSION} tree`);
  const version = d.version;
  const bad: Bad = (field) => new EbakError('CORRUPT', `${what}: invalid field "${field}" in tree entry`);
  let prev: TreeNode | undefined;
  return d.nodes.map((raw: unknown) => {
    const n = readNode(raw, what, version, bad);
    if (prev && compareNames(prev, n) >= 0) throw new EbakError('CORRUPT', `${what}: entries unsorted or duplicated at ${JSON.stringify(n.name)}`);
    prev = n;
    return n;
  });
}

/**
 * A name is one path component: never empty, ".", "..", nor containing "/"
 * or NUL. Given as bytes, or as the text of bytes that are UTF-8 (where "/"
 * and NUL are those bytes alone, so the text shows what the bytes would).
 */
export function checkName(name: Buffer | string, what: string): void {
  const s = typeof name === 'string' ? name : name.toString('latin1');
  if (s === '' || s === '.' || s === '..' || s.includes('/') || s.includes('\0'))
    throw new EbakError('UNSAFE_PATH', `${what}: refusing entry name ${JSON.stringify(typeof name === 'string' ? name : name.toString('utf8'))} (it could escape the restore target)`);
}

export const HEX64 = /^[0-9a-f]{64}$/;
const DIGITS = /^[0-9]{1,25}$/;
/** mtime is signed: a file dated before 1970 (restic restores 1960 timestamps) is a negative count of nanoseconds. */
const SIGNED_DIGITS = /^-?[0-9]{1,25}$/;

export type Fields = Record<string, unknown>;
export type Bad = (field: string) => EbakError;

function readNode(raw: unknown, what: string, version: TreeVersion, bad: Bad): TreeNode {
  const n = raw as Fields;
  if (typeof n !== 'object' || n === null) throw bad('node');
  const name = readBytes(n, 'name', version, bad);
  checkName(name.raw ?? name.text, what);
  if (!TYPES[version].includes(n.type as NodeType)) throw bad('type');
  for (const f of ['mode', 'uid', 'gid', 'links'] as const) if (!Number.isSafeInteger(n[f]) || (n[f] as number) < 0) throw bad(f);
  if ((n.mode as number) > 0o7777) throw bad('mode');
  if (typeof n.mtime !== 'string' || !SIGNED_DIGITS.test(n.mtime)) throw bad('mtime');
  // ctime is the kernel's own change time (no call sets it), so it stays unsigned.
  for (const f of ['ctime', 'inode', 'dev'] as const) if (typeof n[f] !== 'string' || !DIGITS.test(n[f] as string)) throw bad(f);
  const node: TreeNode = {
    name: name.text, type: n.type as NodeType, mode: n.mode as number, uid: n.uid as number, gid: n.gid as number,
    mtime: n.mtime, ctime: n.ctime as string, inode: n.inode as string, dev: n.dev as string, links: n.links as number,
  };
  if (name.raw) node.rawName = name.raw;
  readTypeFields(n, node, version, bad);
  if (version === 2 && n.xattrs !== undefined) node.xattrs = readXattrs(n.xattrs, bad);
  return node;
}

/** The fields that belong to one type (and their absence on every other). */
function readTypeFields(n: Fields, node: TreeNode, version: TreeVersion, bad: Bad): void {
  const t = node.type;
  if (t === 'file') {
    if (!Number.isSafeInteger(n.size) || (n.size as number) < 0) throw bad('size');
    if (!Array.isArray(n.content) || !n.content.every((c) => typeof c === 'string' && HEX64.test(c))) throw bad('content');
    node.size = n.size as number;
    node.content = n.content as string[];
  } else if (n.size !== undefined || n.content !== undefined) throw bad('content');
  if (t === 'dir') {
    if (typeof n.subtree !== 'string' || !HEX64.test(n.subtree)) throw bad('subtree');
    node.subtree = n.subtree;
  } else if (n.subtree !== undefined) throw bad('subtree');
  if (t === 'symlink') {
    const target = readBytes(n, 'target', version, bad);
    const bytes = target.raw ?? Buffer.from(target.text);
    if (bytes.length === 0 || bytes.includes(0)) throw bad('target');
    node.target = target.text;
    if (target.raw) node.rawTarget = target.raw;
  } else if (n.target !== undefined || (version === 2 && n.target_raw !== undefined)) throw bad('target');
  if (version === 1) return;
  if (t === 'chardev' || t === 'blockdev') {
    if (typeof n.rdev !== 'string' || !DIGITS.test(n.rdev)) throw bad('rdev');
    node.rdev = n.rdev;
  } else if (n.rdev !== undefined) throw bad('rdev');
}

/**
 * A name or target. Version 1 has only the string. Version 2 has exactly one
 * of the string (well-formed, so its UTF-8 bytes are exact) and `<key>_raw`,
 * canonical base64 of bytes that are not valid UTF-8 (else the string is the
 * one encoding, so each name has exactly one).
 */
export function readBytes(n: Fields, key: 'name' | 'target' | 'first', version: TreeVersion, bad: Bad): { text: string; raw?: Buffer } {
  const text = n[key];
  const raw = version === 2 ? n[RAW[key]] : undefined;
  if (raw === undefined) {
    if (typeof text !== 'string' || (version === 2 && !isAscii(text) && !(text as string & WellFormed).isWellFormed())) throw bad(key);
    return { text };
  }
  const bytes = text === undefined ? canonicalBase64(raw) : undefined;
  if (!bytes || isUtf8(bytes)) throw bad(`${key}_raw`);
  return fromBytes(bytes);
}

const RAW = { name: 'name_raw', target: 'target_raw', first: 'first_raw' } as const;

/** ES2024's String.prototype.isWellFormed (in Node 20; TypeScript's ES2022 library does not declare it): no lone surrogate, so its UTF-8 bytes are exact. */
interface WellFormed {
  isWellFormed(): boolean;
}

function canonicalBase64(v: unknown): Buffer | undefined {
  if (typeof v !== 'string') return undefined;
  const b = Buffer.from(v, 'base64');
  return b.toString('base64') === v ? b : undefined;
}

/** A non-empty list, strictly sorted by name bytes; names non-empty without NUL, values any bytes. */
function readXattrs(v: unknown, bad: Bad): Xattr[] {
  if (!Array.isArray(v) || v.length === 0) throw bad('xattrs');
  let prev: Buffer | undefined;
  return v.map((x: unknown) => {
    if (typeof x !== 'object' || x === null) throw bad('xattrs');
    const f = x as Fields;
    const n = readBytes(f, 'name', 2, () => bad('xattrs'));
    const name = n.raw ?? Buffer.from(n.text);
    const value = canonicalBase64(f.value);
    if (name.length === 0 || name.includes(0) || !value) throw bad('xattrs');
    if (prev && Buffer.compare(prev, name) >= 0) throw bad('xattrs');
    prev = name;
    return { name, value };
  });
}
