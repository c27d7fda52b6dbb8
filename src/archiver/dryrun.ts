/**
 * backup --dry-run's blob writer: it answers as the repository's would (a
 * blob is new unless the index or this run already has it) and counts what
 * would be added, but stores nothing: no pack, no index file. The bytes it
 * counts are the blobs' plaintext (restic's dry run counts them after
 * compression, which needs the packing this writer skips).
 */
import { BlobType } from '../repository/format/pack.js';
import type { BlobWriter } from '../repository/api.js';

export class DryRunWriter implements BlobWriter {
  readonly stats: BlobWriter['stats'] = { dataBlobs: 0, treeBlobs: 0, bytesStored: 0 };
  private readonly seen = new Set<string>();

  /** `ids` gives the repository's keyed blob ids and its index; nothing is ever added to it. */
  constructor(private readonly ids: Pick<BlobWriter, 'blobId' | 'has'>) {}

  blobId(data: Uint8Array): Buffer {
    return this.ids.blobId(data);
  }

  has(id: Buffer): boolean {
    return this.ids.has(id) || this.seen.has(id.toString('hex'));
  }

  async add(type: number, id: Buffer, data: Buffer, sealed?: (bytes: number) => void): Promise<boolean> {
    if (this.has(id)) return false;
    this.seen.add(id.toString('hex'));
    if (type === BlobType.tree) this.stats.treeBlobs++;
    else this.stats.dataBlobs++;
    this.stats.bytesStored += data.length;
    sealed?.(data.length);
    return true;
  }

  async finish(): Promise<void> {}

  async abandon(): Promise<void> {}
}
