/**
 * Repairing damaged snapshots (restic's `repair snapshots`, issue #14 item
 * 12): each selected snapshot is rewritten so that it names only what the
 * index holds. As in restic, a file keeps the data blobs that are there and
 * its size becomes theirs ("removed missing content"; a size that does not
 * match its blobs is fixed), a directory whose tree cannot be read becomes
 * an empty directory, and a snapshot whose root tree cannot be read cannot
 * be repaired (it is reported and left alone). A snapshot with nothing to
 * repair is left as it is. A repaired one is saved as a new snapshot whose
 * `original` names the damaged one; `forget` then removes the damaged one,
 * unless a retention lock or legal hold protects it (then it is kept, with
 * a warning: the repaired copy is saved all the same). Where the vault holds
 * the delete credential, the removal goes through it (the ObjectDeleter), and
 * the vault refuses and audits as for forget.
 *
 * The index decides what is missing, so run `repair index` first (as restic
 * says): a blob the index lists in a pack that is gone is not noticed here.
 * Exclusive lock (nothing may add or remove blobs meanwhile); a dry run
 * writes nothing and takes a shared lock.
 */
import type { BlobIndex, BlobStore, BlobWriter, HeadRecorder, Locker, SnapshotEntry, SnapshotStore, TreeLoader } from '../repository/api.js';
import { BlobType } from '../repository/format/pack.js';
import type { TreeNode } from '../repository/format/tree.js';
import { writeTree } from '../archiver/treewriter.js';
import type { WorkerPool } from '../repository/workers.js';
import { reasonFor } from '../retention/lock.js';
import { removeRecorded, type ObjectDeleter } from './head.js';
import { runLocked, type OperationOptions, type WarningEvent } from './operation.js';
import type { RetentionSource } from './retention.js';

type Hasher = { blobId(data: Uint8Array): Buffer };
export type RepairRepository = SnapshotStore & TreeLoader & BlobIndex & BlobStore & Locker & Hasher & { removeSnapshot(id: string): Promise<void> };

export type RepairEvent =
  | { type: 'snapshot'; id: string }
  | { type: 'file'; path: string; what: 'removed missing content' | 'fixed incorrect size' }
  | { type: 'dir'; path: string; what: 'replaced with empty directory' }
  | { type: 'saved'; from: string; to: string }
  | { type: 'removed'; id: string }
  | { type: 'unrepairable'; id: string }
  | WarningEvent;

export interface RepairSnapshotsOptions extends OperationOptions<RepairEvent> {
  /** Remove each damaged snapshot once its repaired copy is saved, unless the lock or holds of this source (the vault's, or the repository's own) protect it. */
  forget?: RetentionSource | undefined;
  /** Say what would be done; write and remove nothing. */
  dryRun?: boolean;
  /** The repository head to post removals to (vault mode). */
  head?: HeadRecorder | undefined;
  /** Where the damaged snapshots are deleted when the vault holds the delete credential (it refuses what it protects, and audits); else the repository. */
  deleter?: ObjectDeleter | undefined;
}

export interface RepairSnapshotsResult {
  repaired: { from: string; to?: string }[];
  unchanged: number;
  unrepairable: string[];
  removed: string[];
}

export function repairSnapshots(repo: RepairRepository, pool: WorkerPool, snapshots: readonly SnapshotEntry[], opts: RepairSnapshotsOptions = {}): Promise<RepairSnapshotsResult> {
  return runLocked(repo, opts.dryRun ? 'shared' : 'exclusive', 'repair snapshots', opts, async () => {
    const writer = opts.dryRun ? undefined : repo.blobWriter(pool);
    const rewriter = new TreeRepairer(repo, writer, (e) => opts.onEvent?.(e), opts.signal);
    const result: RepairSnapshotsResult = { repaired: [], unchanged: 0, unrepairable: [], removed: [] };
    const facts = opts.forget && !opts.dryRun ? await opts.forget.retentionFacts() : undefined;
    const remover = opts.deleter ?? repo;
    try {
      for (const { id, snapshot } of snapshots) {
        opts.onEvent?.({ type: 'snapshot', id });
        const tree = await rewriter.tree(snapshot.tree, '');
        if (tree === undefined) {
          result.unrepairable.push(id);
          opts.onEvent?.({ type: 'unrepairable', id });
          continue;
        }
        if (tree === snapshot.tree) {
          result.unchanged++;
          continue;
        }
        if (!writer) {
          result.repaired.push({ from: id });
          continue;
        }
        await writer.finish(); // the snapshot may only name blobs that are durable
        const to = await repo.saveSnapshot({ ...snapshot, tree, original: snapshot.original ?? id });
        result.repaired.push({ from: id, to });
        opts.onEvent?.({ type: 'saved', from: id, to });
        const kept = facts && reasonFor(facts, { id, time: snapshot.time });
        if (kept) opts.onEvent?.({ type: 'warning', message: `snapshot ${id.slice(0, 8)} is protected (${kept}): kept beside its repaired copy` });
        else if (facts) {
          await removeRecorded(opts.head, 'snapshots', [id], (x) => remover.removeSnapshot(x), opts.signal);
          result.removed.push(id);
          opts.onEvent?.({ type: 'removed', id });
        }
      }
    } catch (e) {
      await writer?.abandon();
      throw e;
    }
    return result;
  });
}

/**
 * Rewrites trees bottom-up. A tree with nothing to repair keeps its id (and
 * is not written again); one shared by several snapshots or directories is
 * repaired once per run. `undefined`: the tree itself cannot be read.
 */
class TreeRepairer {
  private readonly done = new Map<string, string | undefined>();
  private emptyTree: string | undefined;

  constructor(private readonly repo: TreeLoader & BlobIndex & Hasher, private readonly writer: BlobWriter | undefined, private readonly event: (e: RepairEvent) => void, private readonly signal: AbortSignal | undefined) {}

  async tree(id: string, path: string): Promise<string | undefined> {
    if (this.done.has(id)) return this.done.get(id);
    let nodes: TreeNode[];
    try {
      nodes = await this.repo.loadTree(id);
    } catch {
      this.done.set(id, undefined);
      return undefined;
    }
    let changed = false;
    const out: TreeNode[] = [];
    for (const n of nodes) {
      this.signal?.throwIfAborted();
      const repaired = await this.node(n, `${path}/${n.name}`);
      changed ||= repaired !== n;
      out.push(repaired);
    }
    const result = changed ? await this.save(out) : id;
    this.done.set(id, result);
    return result;
  }

  private async node(n: TreeNode, path: string): Promise<TreeNode> {
    if (n.type === 'dir') {
      const subtree = await this.tree(n.subtree!, path);
      if (subtree === n.subtree) return n;
      if (subtree !== undefined) return { ...n, subtree };
      this.event({ type: 'dir', path, what: 'replaced with empty directory' });
      return { ...n, subtree: await this.empty() };
    }
    if (n.type !== 'file' || !n.content) return n;
    const content = n.content.filter((hex) => this.repo.hasBlob(Buffer.from(hex, 'hex')));
    const size = content.reduce((sum, hex) => sum + this.repo.lookupBlob(Buffer.from(hex, 'hex'))!.rawLength, 0);
    if (content.length === n.content.length && size === n.size) return n;
    this.event({ type: 'file', path, what: content.length < n.content.length ? 'removed missing content' : 'fixed incorrect size' });
    return { ...n, content, size };
  }

  private async empty(): Promise<string> {
    this.emptyTree ??= await this.save([]);
    return this.emptyTree;
  }

  /** Stores a repaired tree (in a dry run: only names it). */
  private save(nodes: TreeNode[]): Promise<string> {
    return writeTree(async (bytes) => {
      const id = this.repo.blobId(bytes);
      await this.writer?.add(BlobType.tree, id, bytes);
      return id.toString('hex');
    }, nodes);
  }
}
