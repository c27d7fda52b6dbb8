/**
 * Writes one directory's tree from its entries given in name order, as they
 * are saved: within the split limits the directory is one version-2 tree,
 * byte for byte what encodeTree gives; past them it is split
 * (repository/format/tree-split.ts) and each part is stored as soon as it
 * ends, so a backup of a directory of millions of entries holds one part's
 * encoded entries, not the whole directory. Each entry is encoded once.
 */
import { EbakError } from '../errors.js';
import { assembleTree, encodeNode, nameBytes, type TreeNode } from '../repository/format/tree.js';
import { encodeSplitRoot, endsPart, SPLIT_LIMITS, type SplitLimits, type TreePart } from '../repository/format/tree-split.js';

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
  private last: Buffer | undefined;
  /** Entries added. */
  count = 0;

  constructor(private readonly save: SaveTree, private readonly limits: SplitLimits = SPLIT_LIMITS) {}

  /** The next entry; its name must sort after the previous one's. A promise only when a part is stored (most entries wait for nothing). */
  add(node: TreeNode): Promise<void> | undefined {
    const name = nameBytes(node);
    if (this.last && Buffer.compare(this.last, name) >= 0) throw new EbakError('CORRUPT', `tree entries out of order at ${JSON.stringify(node.name)}`);
    this.last = name;
    this.count++;
    const json = encodeNode(node);
    const e = { name, json, bytes: Buffer.byteLength(json) };
    if (this.parts) return this.addToPart(e);
    this.hold(e);
    return this.held.length > this.limits.entries || this.heldBytes > this.limits.bytes ? this.split() : undefined;
  }

  /** Stores what is left and returns the directory's tree id: the one tree, or the root naming the parts. */
  async finish(): Promise<string> {
    if (!this.parts) return this.save(this.assemble());
    if (this.held.length) await this.endPart();
    return this.save(encodeSplitRoot(this.parts));
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
