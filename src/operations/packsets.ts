/**
 * The packs a snapshot references, walked once per command. Two consumers
 * need the same set at the end of a backup: the Object Lock extension of
 * reused packs (retain.ts) and, in vault mode, the record the vault's pack
 * refusals rest on (the head's flush, src/keys/head.ts via the session).
 * Each walked the snapshot's trees on its own; one PackSets shared by both
 * walks them once. Only complete sets are kept: one with a blob no loaded
 * index places is walked again after the caller reloads the index.
 */
import type { BlobIndex, SnapshotStore, TreeLoader } from '../repository/api.js';
import { usedBlobs, walk } from '../walker/index.js';

export interface PackSet {
  /** The packs (data and tree) holding the blobs under the tree. */
  readonly packs: ReadonlySet<string>;
  /** Blobs under the tree that no loaded index places (their packs are unknown). */
  readonly unindexed: number;
}

/**
 * A write-only repository cannot walk trees: it says which packs a snapshot
 * it saved used (`packsWritten`: every blob its backup referenced, stored or
 * deduplicated), and knows nothing of the others.
 */
interface PacksWritten {
  packsWritten?(id: string): string[] | undefined;
}

export type PackSetRepository = TreeLoader & Pick<BlobIndex, 'lookupBlob'> & Pick<SnapshotStore, 'loadSnapshot'> & PacksWritten;

export class PackSets {
  private readonly memo = new Map<string, Promise<PackSet>>();

  constructor(private readonly repo: PackSetRepository) {}

  /** The packs under `tree`, each shared subtree visited once. */
  under(tree: string): Promise<PackSet> {
    let p = this.memo.get(tree);
    if (p === undefined) {
      p = this.walk(tree);
      this.memo.set(tree, p);
      p.then((s) => s.unindexed > 0 && this.memo.delete(tree), () => this.memo.delete(tree));
    }
    return p;
  }

  /** Snapshot `id`'s packs, sorted; undefined when a blob is in no indexed pack. */
  async ofSnapshot(id: string): Promise<string[] | undefined> {
    if (this.repo.packsWritten) return this.repo.packsWritten(id);
    const set = await this.under((await this.repo.loadSnapshot(id)).tree);
    return set.unindexed > 0 ? undefined : [...set.packs].sort();
  }

  private async walk(tree: string): Promise<PackSet> {
    const visitor = usedBlobs();
    await walk(this.repo, tree, visitor);
    const packs = new Set<string>();
    let unindexed = 0;
    for (const blob of visitor.blobs) {
      const pack = this.repo.lookupBlob(Buffer.from(blob, 'hex'))?.pack.id;
      if (pack === undefined) unindexed++;
      else packs.add(pack);
    }
    return { packs, unindexed };
  }
}
