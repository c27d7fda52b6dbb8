/**
 * Shared by test/vectors/make-trees-v3.ts and the test that checks
 * test/vectors/trees-v3.json (test/repository/tree-split.test.ts): the
 * file's shape, and one reader of a split directory from its blobs alone
 * (docs/format.md, "Split directories"): blob ids are HMAC-SHA-256 under the
 * blob-id subkey of K = 000102…1f, as for every other tree vector.
 */
import { hmacSha256 } from '../../src/crypto/index.js';
import { writeTree } from '../../src/archiver/treewriter.js';
import type { TreeLoader } from '../../src/repository/api.js';
import type { TreeNode } from '../../src/repository/format/tree.js';
import { decodeTreeBlob } from '../../src/repository/format/tree-split.js';
import { Repository } from '../../src/repository/repository.js';
import { joinParts } from '../../src/repository/trees.js';
import { MASTER_HEX, outcome, type Outcome } from '../repository/vector-kit.js';

export const FILE = new URL('../../../test/vectors/trees-v3.json', import.meta.url);
export const keys = Repository.subKeys(Buffer.from(MASTER_HEX, 'hex'));
export const blobId = (bytes: Buffer) => hmacSha256(keys.blobId, bytes).toString('hex');

/** A directory as stored: every tree blob it is made of (text), by id, and the id of its tree. */
/** Writes `nodes` through the TreeWriter with `limits`; returns the tree id and every blob it stored (text by id). */
export async function writtenTree(nodes: readonly TreeNode[], limits: { entries: number; bytes: number }): Promise<{ tree: string; blobs: Record<string, string> }> {
  const blobs: Record<string, string> = {};
  const tree = await writeTree(async (bytes) => {
    const id = blobId(bytes);
    blobs[id] = bytes.toString('utf8');
    return id;
  }, nodes, limits);
  return { tree, blobs };
}

export interface StoredDir {
  name: string;
  /** The split limits it was written with (tree-split.ts's SplitLimits). */
  limits: { entries: number; bytes: number };
  tree: string;
  blobs: Record<string, string>;
  /** The hex of each entry's name bytes, in order. */
  names: string[];
}

export interface TreeV3Vectors {
  comment: string;
  master: string;
  /** Written by the TreeWriter: re-encoding the entries gives exactly these blobs. */
  valid: StoredDir[];
  /** Split directories' roots (version 3), each with decodeTreeBlob's outcome. */
  roots: { name: string; json: string; expect: Outcome }[];
  /** Directories whose root and parts disagree: the outcome of reading them whole (blobs by id, as in `valid`). */
  mismatched: { name: string; tree: string; blobs: Record<string, string>; expect: Outcome }[];
}

/** A loader over the given blobs (text), as a repository serves them. */
export function loaderOf(blobs: Record<string, string>): Required<TreeLoader> {
  const loader: Required<TreeLoader> = {
    loadTree: (id) => joinParts(loader, id),
    async loadTreeBlob(id) {
      const text = blobs[id];
      if (text === undefined) throw new Error(`vector blob ${id} missing`);
      return decodeTreeBlob(Buffer.from(text), `tree ${id.slice(0, 16)}`);
    },
  };
  return loader;
}

/** "ok" or the error class of reading directory `tree` whole. */
export function readOutcome(tree: string, blobs: Record<string, string>): Promise<Outcome> {
  return outcome(() => loaderOf(blobs).loadTree(tree));
}
