/**
 * `ebak check`: proves the repository is whole. Without --read-data it
 * authenticates every key, index, snapshot and tree, and checks that every
 * blob a snapshot needs is indexed in a pack that exists and has the size
 * its index implies. With --read-data it
 * also downloads every pack, checks its name is its SHA-256, authenticates
 * its header and every blob, and checks the index agrees with the header.
 * Problems are collected, each naming the object, never thrown one by one.
 */
import { sha256 } from '../crypto/index.js';
import { isEbakError } from '../errors.js';
import { openBlob } from '../repository/blob.js';
import { decodeIndex } from '../repository/format/indexfile.js';
import { decodePack, packKeyFor, packSize, type BlobEntry } from '../repository/format/pack.js';
import type { TreeNode } from '../repository/format/tree.js';
import { listKeys, type Repository } from '../repository/repository.js';

export interface CheckResult {
  errors: string[];
  warnings: string[];
  snapshots: number;
  packs: number;
  blobs: number;
}

export async function check(repo: Repository, opts: { readData?: boolean; onProgress?: (msg: string) => void } = {}): Promise<CheckResult> {
  const res: CheckResult = { errors: [], warnings: [], snapshots: 0, packs: 0, blobs: 0 };
  const attempt = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (e) {
      if (!isEbakError(e)) throw e;
      res.errors.push(e.message);
      return undefined;
    }
  };
  for (const k of await listKeys(repo.backend)) if (k.damaged) res.errors.push(`keys/${k.id}: ${k.damaged}`);
  const expectedSize = new Map<string, number>();
  for (const name of await repo.list('index')) {
    await attempt(async () => {
      const payload = await repo.loadObject('index', name);
      repo.addIndexFile(name, payload);
      for (const p of decodeIndex(payload, `index/${name}`).packs) expectedSize.set(p.id.toString('hex'), packSize(p.blobs));
    });
  }
  const stored = new Map<string, number>();
  for await (const f of repo.backend.list('data')) stored.set(f.name, f.size);
  for (const p of repo.index.packs) {
    const size = stored.get(p.id);
    if (size === undefined) res.errors.push(`data/${p.id}: pack is in the index but missing from storage`);
    else if (size !== expectedSize.get(p.id)) res.errors.push(`data/${p.id}: pack is ${size} bytes, but its index says ${expectedSize.get(p.id)} (truncated or altered)`);
  }
  for (const id of stored.keys()) if (!repo.index.hasPack(id)) res.warnings.push(`data/${id}: pack is not in any index (left by an interrupted backup; harmless, a future prune removes it)`);
  res.packs = stored.size;
  res.blobs = repo.index.size;
  opts.onProgress?.('checking snapshots and trees');
  const seen = new Set<string>();
  for (const name of await repo.list('snapshots')) {
    const snap = await attempt(() => repo.loadSnapshot(name));
    if (!snap) continue;
    res.snapshots++;
    await walkTree(repo, snap.tree, `snapshots/${name}`, seen, res, attempt);
  }
  if (opts.readData) await readData(repo, stored, res, opts.onProgress);
  return res;
}

async function walkTree(
  repo: Repository, treeId: string, where: string, seen: Set<string>, res: CheckResult,
  attempt: <T>(fn: () => Promise<T>) => Promise<T | undefined>,
): Promise<void> {
  if (seen.has(treeId)) return;
  seen.add(treeId);
  const nodes: TreeNode[] | undefined = await attempt(() => repo.loadTree(treeId));
  if (!nodes) return;
  for (const n of nodes) {
    if (n.type === 'dir') await walkTree(repo, n.subtree!, `${where}/${n.name}`, seen, res, attempt);
    else if (n.type === 'file') {
      for (const hex of n.content!) {
        if (!repo.index.has(Buffer.from(hex, 'hex'))) res.errors.push(`${where}/${n.name}: data blob ${hex.slice(0, 16)} is missing`);
      }
    }
  }
}

async function readData(repo: Repository, stored: Map<string, number>, res: CheckResult, onProgress?: (msg: string) => void): Promise<void> {
  let done = 0;
  for (const id of stored.keys()) {
    onProgress?.(`reading packs ${++done}/${stored.size}`);
    try {
      const bytes = await repo.backend.load({ type: 'data', name: id });
      if (sha256(bytes).toString('hex') !== id) {
        res.errors.push(`data/${id}: content does not match its name (altered or corrupted)`);
        continue;
      }
      const { prefix, entries } = decodePack(repo.keys.pack, bytes, `data/${id}`);
      const key = packKeyFor(repo.keys.pack, prefix.salt);
      for (const e of entries) checkBlob(repo, key, id, bytes, e, res);
    } catch (e) {
      if (!isEbakError(e)) throw e;
      res.errors.push(e.message);
    }
  }
}

function checkBlob(repo: Repository, key: Buffer, packId: string, bytes: Buffer, e: BlobEntry, res: CheckResult): void {
  const what = `blob ${e.id.toString('hex').slice(0, 16)} in data/${packId}`;
  try {
    openBlob(key, repo.keys.blobId, e, bytes.subarray(e.offset, e.offset + e.length), what);
  } catch (err) {
    if (!isEbakError(err)) throw err;
    res.errors.push(err.message);
    return;
  }
  const loc = repo.index.lookup(e.id);
  if (loc && loc.pack.id === packId && (loc.offset !== e.offset || loc.length !== e.length || loc.rawLength !== e.rawLength))
    res.errors.push(`${what}: index disagrees with the pack header`);
}
