/**
 * `ebak check`: proves the repository is whole. Without --read-data it
 * authenticates every key, index, snapshot, tree and retention object (the
 * retention lock and holds: one damaged would fail every forget and prune,
 * so it is named here first), and checks that every
 * blob a snapshot needs is indexed in a pack that exists and has the size
 * its index implies. With --read-data it
 * also downloads every pack, checks its name is its SHA-256, authenticates
 * its header and every blob, and checks the index agrees with the header.
 * Problems are collected, each naming the object, never thrown one by one.
 * An aborted `signal` stops it between objects (rejecting with its reason).
 */
import { isEbakError } from '../errors.js';
import type { BlobIndex, IndexFiles, KeyLister, PackStore, RetentionObjects, SnapshotStore, TreeLoader } from '../repository/api.js';
import { packSize } from '../repository/format/pack.js';
import { walk } from '../walker/index.js';

/** What check reads: every kind of object, and the index files one by one. */
export type Checkable = SnapshotStore & TreeLoader & BlobIndex & IndexFiles & PackStore & KeyLister & Pick<RetentionObjects, 'readRetentionObjects'>;

export interface CheckResult {
  errors: string[];
  warnings: string[];
  snapshots: number;
  packs: number;
  blobs: number;
}

type Attempt = <T>(fn: () => Promise<T>) => Promise<T | undefined>;

export interface CheckOptions {
  readData?: boolean;
  onProgress?: (msg: string) => void;
  signal?: AbortSignal;
}

export async function check(repo: Checkable, opts: CheckOptions = {}): Promise<CheckResult> {
  const res: CheckResult = { errors: [], warnings: [], snapshots: 0, packs: 0, blobs: 0 };
  const attempt: Attempt = async (fn) => {
    opts.signal?.throwIfAborted();
    try {
      return await fn();
    } catch (e) {
      if (!isEbakError(e)) throw e;
      res.errors.push(e.message);
      return undefined;
    }
  };
  for (const k of await repo.listKeys()) if (k.damaged) res.errors.push(`keys/${k.id}: ${k.damaged}`);
  await attempt(() => repo.readRetentionObjects());
  const stored = await checkPacks(repo, res, attempt);
  opts.onProgress?.('checking snapshots and trees');
  const seen = new Set<string>();
  for (const name of await repo.listSnapshots()) {
    const snap = await attempt(() => repo.loadSnapshot(name));
    if (!snap) continue;
    res.snapshots++;
    await checkTrees(repo, snap.tree, `snapshots/${name}`, seen, res, opts.signal);
  }
  if (opts.readData) await readData(repo, stored, res, opts);
  return res;
}

/** Loads every index file and compares the packs they name with the stored ones; returns the stored packs. */
async function checkPacks(repo: Checkable, res: CheckResult, attempt: Attempt): Promise<string[]> {
  const expectedSize = new Map<string, number>();
  for (const name of await repo.listIndexFiles()) {
    await attempt(async () => {
      for (const p of await repo.loadIndexFile(name)) expectedSize.set(p.id.toString('hex'), packSize(p.blobs));
    });
  }
  const stored = new Map((await repo.listPacks()).map((f) => [f.name, f.size]));
  const indexed = new Set<string>();
  for (const p of repo.indexedPacks()) {
    indexed.add(p.id);
    const size = stored.get(p.id);
    if (size === undefined) res.errors.push(`data/${p.id}: pack is in the index but missing from storage`);
    else if (size !== expectedSize.get(p.id)) res.errors.push(`data/${p.id}: pack is ${size} bytes, but its index says ${expectedSize.get(p.id)} (truncated or altered)`);
  }
  for (const id of stored.keys()) if (!indexed.has(id)) res.warnings.push(`data/${id}: pack is not in any readable index (left by an interrupted backup or prune, or its index is damaged): \`ebak prune\` indexes it from its own header and removes it once no snapshot needs it (\`ebak repair index\` only indexes it); it may hold the only copy of data, so never delete it by hand`);
  res.packs = stored.size;
  res.blobs = repo.blobCount();
  return [...stored.keys()];
}

/** Every tree under `treeId` authenticates, and every data blob its files need is indexed (shared trees are read once). */
async function checkTrees(repo: Checkable, treeId: string, where: string, seen: Set<string>, res: CheckResult, signal: AbortSignal | undefined): Promise<void> {
  await walk(repo, treeId, {
    tree(id) {
      signal?.throwIfAborted();
      if (seen.has(id)) return 'skip';
      seen.add(id);
    },
    node(path, n) {
      if (n.type !== 'file') return;
      let bytes = 0;
      let missing = false;
      for (const hex of n.content!) {
        const loc = repo.lookupBlob(Buffer.from(hex, 'hex'));
        if (loc) bytes += loc.rawLength;
        else {
          missing = true;
          res.errors.push(`${path}: data blob ${hex.slice(0, 16)} is missing`);
        }
      }
      // A size that disagrees with the blobs would make the restore refuse the file: say so now.
      if (!missing && bytes !== n.size) res.errors.push(`${path}: the snapshot records ${n.size} bytes but its blobs hold ${bytes}`);
    },
    treeError(_id, _path, e) {
      if (!isEbakError(e)) throw e;
      res.errors.push(e.message);
    },
  }, where);
}

async function readData(repo: PackStore, stored: string[], res: CheckResult, opts: CheckOptions): Promise<void> {
  let done = 0;
  for (const id of stored) {
    opts.signal?.throwIfAborted();
    opts.onProgress?.(`reading packs ${++done}/${stored.length}`);
    try {
      res.errors.push(...(await repo.checkPack(id)));
    } catch (e) {
      if (!isEbakError(e)) throw e;
      res.errors.push(e.message);
    }
  }
}
