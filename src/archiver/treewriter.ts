/**
 * Writes one directory's tree from its entries given in name order, as they
 * are saved: within the split limits the directory is one version-2 tree,
 * byte for byte what encodeTree gives; past them it is split
 * (repository/format/tree-split.ts) and each part is stored as soon as it
 * ends, so a backup of a directory of millions of entries holds one part's
 * encoded entries, not the whole directory. Each entry is encoded once.
 *
 * An unchanged directory is not encoded at all: entries the caller marks as
 * equal to the parent snapshot's (sameNode) are held as they are, and when
 * every entry of the parent's one version-2 blob came back so, that blob is
 * the tree (its bytes are what encoding them would give: same id, nothing
 * stored). Encoding and hashing each unchanged tree again was ~10 % of an
 * unchanged re-backup's CPU (docs/benchmarks.md, rebackup). The first entry
 * that differs has those held encoded, in order, as if none had been held.
 */
import { EbakError } from '../errors.js';
import { assembleTree, compareNames, encodeNode, nameBytes, type TreeNode } from '../repository/format/tree.js';
import { encodeSplitRoot, endsPart, SPLIT_LIMITS, type SplitLimits, type TreePart } from '../repository/format/tree-split.js';
import type { WholeTree } from './parents.js';

/** Stores a tree blob; returns its id (hex). */
export type SaveTree = (bytes: Buffer) => Promise<string>;

interface Encoded {
  name: Buffer;
  json: string;
  bytes: number;
}

export class TreeWriter {
  /** The entries not stored yet: the current part, or (until the directory is split) all of them. */
  private held: Encoded[] = [];
  private heldBytes = 0;
  /** The parts stored, once the directory is split. */
  private parts: TreePart[] | undefined;
  private last: TreeNode | undefined;
  /** The entries so far, not encoded yet, while every one is the parent's own (undefined once one is not). */
  private same: TreeNode[] | undefined = [];
  /** Entries added. */
  count = 0;

  constructor(private readonly save: SaveTree, private readonly limits: SplitLimits = SPLIT_LIMITS) {}

  /**
   * The next entry; its name must sort after the previous one's. `same`: it
   * equals its entry in the parent's whole blob (sameNode). A promise only
   * when a part is stored (most entries wait for nothing).
   */
  add(node: TreeNode, same = false): Promise<void> | undefined {
    if (this.last && compareNames(this.last, node) >= 0) throw new EbakError('CORRUPT', `tree entries out of order at ${JSON.stringify(node.name)}`);
    this.last = node;
    this.count++;
    if (this.same) {
      if (same) {
        this.same.push(node);
        return undefined;
      }
      if (this.same.length) return this.encodeSame().then(() => this.put(node));
      this.same = undefined;
    }
    return this.put(node);
  }

  /**
   * Stores what is left and returns the directory's tree id: the one tree, or
   * the root naming the parts; `parent`'s own id when every entry was its own
   * (and it is within the limits, so encoding them would give that one blob).
   */
  async finish(parent?: WholeTree): Promise<string> {
    if (this.same) {
      if (parent && this.same.length === parent.count && parent.count <= this.limits.entries && parent.bytes <= this.limits.bytes) return parent.id;
      await this.encodeSame();
    }
    if (!this.parts) return this.save(this.assemble());
    if (this.held.length) await this.endPart();
    return this.save(encodeSplitRoot(this.parts));
  }

  /** The entries held unencoded, encoded in order as they would have been. */
  private async encodeSame(): Promise<void> {
    const held = this.same!;
    this.same = undefined;
    for (const n of held) await this.put(n);
  }

  private put(node: TreeNode): Promise<void> | undefined {
    const json = encodeNode(node);
    const e = { name: nameBytes(node), json, bytes: Buffer.byteLength(json) };
    if (this.parts) return this.addToPart(e);
    this.hold(e);
    return this.held.length > this.limits.entries || this.heldBytes > this.limits.bytes ? this.split() : undefined;
  }

  /** Past the limits: the entries held so far are cut into parts as if the directory had been split from its first entry. */
  private async split(): Promise<void> {
    const held = this.held;
    this.parts = [];
    this.held = [];
    this.heldBytes = 0;
    for (const e of held) await this.addToPart(e);
  }

  private async addToPart(e: Encoded): Promise<void> {
    if (this.held.length && this.heldBytes + e.bytes > this.limits.bytes) await this.endPart();
    this.hold(e);
    if (endsPart(this.held.length, e.name, this.limits)) await this.endPart();
  }

  private hold(e: Encoded): void {
    this.held.push(e);
    this.heldBytes += e.bytes;
  }

  private async endPart(): Promise<void> {
    const first = this.held[0]!.name;
    const count = this.held.length;
    const bytes = this.assemble();
    this.held = [];
    this.heldBytes = 0;
    this.parts!.push({ first, count, id: await this.save(bytes) });
  }

  private assemble(): Buffer {
    return assembleTree(this.held.map((e) => e.json));
  }
}

/** The tree of `nodes` (in any order): sorted by name bytes, split when past the limits. */
export async function writeTree(save: SaveTree, nodes: readonly TreeNode[], limits?: SplitLimits): Promise<string> {
  const w = new TreeWriter(save, limits);
  const sorted = nodes.map((n) => ({ n, name: nameBytes(n) })).sort((a, b) => Buffer.compare(a.name, b.name));
  for (const { n } of sorted) await w.add(n);
  return w.finish();
}
