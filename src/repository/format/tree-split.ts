/**
 * Split directories (docs/format.md, "Split directories", tree version 3): a
 * directory too large for one blob is an ordered list of parts, each an
 * ordinary version-2 tree holding a sorted run of its entries, and a small
 * root naming the parts, each with its first name and entry count. A
 * directory within the limits stays one version-2 tree, byte for byte as
 * before. Parts end where the name of an entry hashes to a boundary (within
 * a minimum and maximum count and a byte cap), so adding or removing one entry
 * rewrites one part, not every part after it, and unchanged parts
 * deduplicate across snapshots (kopia splits its directory objects by
 * content for the same reason).
 *
 * Readers check each part against the root as they read it (splitCheck):
 * its count, its first name, and that it ends before the next part begins,
 * so the entries of the whole directory are strictly sorted without ever
 * holding more than one part.
 */
import { EbakError } from '../../errors.js';
import {
  checkName, HEX64, nameBytes, parseTreeDocument, putBytes, readBytes, readEntries, SPLIT_TREE_VERSION,
  type Bad, type Fields, type TreeNode, type TreeVersion,
} from './tree.js';

/** One part as the root names it. */
export interface TreePart {
  /** The bytes of the part's first name. */
  first: Buffer;
  count: number;
  /** The part's tree blob id. */
  id: string;
}

/**
 * A tree blob decoded: a list of entries, or the root of a split directory.
 * A list decoded here says its version and its payload's length (a reader
 * that builds lists another way leaves them out): treewriter.ts reuses an
 * unchanged version-2 list as it is.
 */
export type TreeBlob = { nodes: TreeNode[]; version?: TreeVersion; bytes?: number } | { parts: TreePart[] };

/**
 * When a directory is split, and where its parts end. `entries` (N): a
 * directory of more entries is split; a part holds at least N/2 and at most
 * 2N, about N on average. `bytes` (M): a directory whose entries' JSON exceeds
 * it is split, and a part never grows past it (unless one entry alone does).
 */
export interface SplitLimits {
  entries: number;
  bytes: number;
}

/**
 * N = 10,000: a reader holds one part decoded at a time (a few MB), and
 * directories that large are rare, so nearly every directory stays one
 * version-2 tree. M = 4 MiB: about 15,000 entries of small files, and one blob
 * stays well under a pack (16 MiB).
 */
export const SPLIT_LIMITS: SplitLimits = { entries: 10_000, bytes: 4 * 1024 * 1024 };

/** Whether a part of `count` entries ends after the entry named `name` (the content-defined cut). */
export function endsPart(count: number, name: Buffer, limits: SplitLimits): boolean {
  const half = Math.max(1, Math.floor(limits.entries / 2));
  return count >= 2 * limits.entries || (count >= half && fnv1a(name) % half === 0);
}

/** FNV-1a, 32 bits: a cheap hash of the name's bytes (the cut needs spread, not secrecy: the parts are encrypted). */
function fnv1a(bytes: Buffer): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

export function encodeSplitRoot(parts: readonly TreePart[]): Buffer {
  return Buffer.from(JSON.stringify({ version: SPLIT_TREE_VERSION, parts: parts.map(wirePart) }));
}

function wirePart(p: TreePart): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  putBytes(out, 'first', p.first);
  out.count = p.count;
  out.tree = p.id;
  return out;
}

/** Any tree blob: entries (versions 1 and 2) or a split directory's root (version 3). */
export function decodeTreeBlob(payload: Buffer, what: string): TreeBlob {
  const doc = parseTreeDocument(payload, what);
  return doc.version === SPLIT_TREE_VERSION ? { parts: readParts(doc.parts, what) } : { nodes: readEntries(doc, what), version: doc.version, bytes: payload.length };
}

/** A non-empty list, first names strictly increasing, each a valid name; counts ≥ 1. */
function readParts(v: unknown, what: string): TreePart[] {
  const bad: Bad = (field) => new EbakError('CORRUPT', `${what}: invalid field "${field}" in split directory root`);
  if (!Array.isArray(v) || v.length === 0) throw bad('parts');
  let prev: Buffer | undefined;
  return v.map((raw: unknown) => {
    if (typeof raw !== 'object' || raw === null) throw bad('parts');
    const f = raw as Fields;
    const name = readBytes(f, 'first', 2, bad);
    const first = name.raw ?? Buffer.from(name.text);
    checkName(first, what);
    if (prev && Buffer.compare(prev, first) >= 0) throw bad('first');
    if (!Number.isSafeInteger(f.count) || (f.count as number) < 1) throw bad('count');
    if (typeof f.tree !== 'string' || !HEX64.test(f.tree)) throw bad('tree');
    prev = first;
    return { first, count: f.count as number, id: f.tree };
  });
}

/** A part read against its root: `count` entries, starting with `first`, all before the next part's first name. */
export function checkPart(part: TreePart, next: TreePart | undefined, nodes: readonly TreeNode[], what: string): void {
  const fail = (why: string) => new EbakError('CORRUPT', `${what}: part ${part.id.slice(0, 16)} ${why}`);
  if (nodes.length !== part.count) throw fail(`holds ${nodes.length} entries, its root says ${part.count}`);
  if (!nameBytes(nodes[0]!).equals(part.first)) throw fail('does not start with the name its root gives');
  if (next && Buffer.compare(nameBytes(nodes.at(-1)!), next.first) >= 0) throw fail('overlaps the next part');
}
