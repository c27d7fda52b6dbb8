/**
 * Copying snapshots between repositories (restic's `copy`): each snapshot of
 * the source not yet in the destination is rebuilt there. The two
 * repositories have different keys, so blob ids differ: every data blob is
 * read and authenticated in the source, named by the destination's keyed
 * hash and uploaded only when the destination lacks it; trees are rewritten
 * with the new ids. A copied snapshot records the source id in `original`,
 * which is how a second copy of the same snapshots knows to upload nothing.
 * Shared locks on both sides, as a backup takes.
 */
import { EbakError } from '../errors.js';
import type { BlobIndex, BlobReader, BlobStore, BlobWriter, Locker, SnapshotEntry, SnapshotStore, TreeLoader } from '../repository/api.js';
import { BlobType } from '../repository/format/pack.js';
import type { TreeNode } from '../repository/format/tree.js';
import { writeTree } from '../archiver/treewriter.js';
import type { WorkerPool } from '../repository/workers.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';

export type CopySource = SnapshotStore & TreeLoader & Locker;
export type CopyTarget = SnapshotStore & BlobStore & BlobIndex & Locker;

export type CopyEvent = { type: 'copied'; from: string; to: string } | { type: 'skipped'; id: string; to: string } | WarningEvent;

export interface CopyResult {
  copied: { from: string; to: string }[];
  skipped: number;
  blobsAdded: number;
}

/** Copies `snapshots` (already selected from `source`) into `target`. */
export function copySnapshots(source: CopySource, reader: BlobReader, target: CopyTarget, pool: WorkerPool, snapshots: readonly SnapshotEntry[], opts: OperationOptions<CopyEvent> = {}): Promise<CopyResult> {
  return runLocked(source, 'shared', 'copy', opts, () => runLocked(target, 'shared', 'copy', opts, async () => {
    const present = await copiedAlready(target);
    const writer = target.blobWriter(pool);
    const copier = new TreeCopier(source, reader, writer, opts.signal);
    const result: CopyResult = { copied: [], skipped: 0, blobsAdded: 0 };
    try {
      for (const { id, snapshot } of snapshots) {
        const origin = snapshot.original ?? id;
        const existing = present.get(origin);
        if (existing) {
          result.skipped++;
          opts.onEvent?.({ type: 'skipped', id, to: existing });
          continue;
        }
        const tree = await copier.tree(snapshot.tree);
        await writer.finish(); // the snapshot may only name blobs that are durable
        const { parent: _parent, ...rest } = snapshot; // the parent is a source id: meaningless in the target
        const to = await target.saveSnapshot({ ...rest, tree, original: origin });
        present.set(origin, to);
        result.copied.push({ from: id, to });
        opts.onEvent?.({ type: 'copied', from: id, to });
      }
    } catch (e) {
      await writer.abandon();
      throw e;
    }
    result.blobsAdded = copier.added;
    return result;
  }));
}

/** Source ids (the `original` of each copy) the target holds already, with the copy's id. */
async function copiedAlready(target: SnapshotStore): Promise<Map<string, string>> {
  const { snapshots } = await target.readSnapshots();
  return new Map(snapshots.map(({ id, snapshot }) => [snapshot.original ?? id, id]));
}

/** Rewrites trees bottom-up with the target's blob ids; a subtree shared by several snapshots is rewritten once per run. */
class TreeCopier {
  private readonly trees = new Map<string, string>();
  added = 0;

  constructor(private readonly source: TreeLoader, private readonly reader: BlobReader, private readonly writer: BlobWriter, private readonly signal: AbortSignal | undefined) {}

  async tree(id: string): Promise<string> {
    const done = this.trees.get(id);
    if (done) return done;
    const nodes: TreeNode[] = [];
    for (const n of await this.source.loadTree(id)) {
      this.signal?.throwIfAborted();
      if (n.type === 'dir') nodes.push({ ...n, subtree: await this.tree(n.subtree!) });
      else if (n.content) nodes.push({ ...n, content: await this.content(n.content) });
      else nodes.push(n);
    }
    // Split as a backup splits it (a large directory stays parts in the target).
    const hex = await writeTree(async (bytes) => {
      const newId = this.writer.blobId(bytes);
      if (await this.writer.add(BlobType.tree, newId, bytes)) this.added++;
      return newId.toString('hex');
    }, nodes);
    this.trees.set(id, hex);
    return hex;
  }

  /** A file's blobs, read from the source in one batch and stored in the target under its ids. */
  private async content(ids: readonly string[]): Promise<string[]> {
    const located = ids.map((hex) => {
      const id = Buffer.from(hex, 'hex');
      return { id, loc: this.reader.lookupBlob(id) };
    });
    const missing = located.find((b) => !b.loc);
    if (missing) throw new EbakError('CORRUPT', `blob ${missing.id.toString('hex')} of the source is not in its index`, { hint: 'run `ebak check` on the source' });
    const out = new Array<string>(ids.length);
    const adds: Promise<void>[] = [];
    await this.reader.readBlobs(BlobType.data, located.map((b) => ({ id: b.id, loc: b.loc! })), (i, plain) => {
      const id = this.writer.blobId(plain);
      out[i] = id.toString('hex');
      adds.push(this.writer.add(BlobType.data, id, plain).then((added) => void (added && this.added++)));
    });
    await Promise.all(adds);
    return out;
  }
}
