/**
 * A restore drill (restore_test, docs/plans.md): the plan's latest snapshot
 * (or a seeded random sample of its files) restored into a scratch
 * directory under the system temp dir and every file read back against the
 * snapshot. The restore and the read-back are restore's own (`restore
 * --verify`, src/restorer/verify.ts): a drill tests the code a real restore
 * runs. It measures the restore time (RTO) and bytes, names the first file
 * that did not come back whole, and removes the scratch copy whatever
 * happens (a cancelled drill too).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EbakError } from '../errors.js';
import { restore, type RestoreRepository } from '../operations/index.js';
import type { BlobReader, TreeLoader } from '../repository/api.js';
import { walk } from '../walker/index.js';
import type { DrillRecord } from './state.js';

export interface DrillOptions {
  /** The tag of the plan's snapshots (plan:<name>): the newest one is drilled. */
  tag: string;
  /** Restore only this many files, drawn at random from the snapshot with `seed`. */
  sample?: number;
  seed: string;
  signal?: AbortSignal;
}

export interface DrillResult extends DrillRecord {
  /** The first file that did not restore or read back equal (its snapshot path, and why). */
  firstBad?: string;
}

export async function drill(repo: RestoreRepository, blobs: BlobReader, opts: DrillOptions): Promise<DrillResult> {
  const { snapshots, damaged } = await repo.readSnapshots();
  // An unreadable snapshot may be the plan's latest: a restore test cannot pass over it.
  if (damaged.length > 0) throw damaged[0]!;
  const latest = snapshots.filter((e) => e.snapshot.tags.includes(opts.tag)).at(-1);
  if (!latest) throw new EbakError('NOT_FOUND', `no snapshot tagged ${opts.tag} to drill yet`);
  const includes = opts.sample === undefined ? undefined : await sampleFiles(repo, latest.snapshot.tree, opts.sample, opts.seed);
  const scratch = await mkdtemp(join(tmpdir(), 'ebak-drill-'));
  let firstBad: string | undefined;
  try {
    const started = Date.now();
    const r = await restore(repo, blobs, {
      snapshot: latest.id, target: scratch, verify: true,
      ...(includes ? { includes } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onEvent: (e) => void (e.type === 'warning' && (firstBad ??= e.message.replaceAll(scratch, ''))),
    });
    const ms = Date.now() - started;
    return { snapshot: latest.id, files: r.files, bytes: r.bytes, ms, verified: r.errors === 0, ...(r.errors > 0 && firstBad ? { firstBad } : {}) };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * `n` of the snapshot's regular files, drawn by a partial Fisher-Yates
 * shuffle whose randomness is SHA-256 of the seed: the same seed draws the
 * same files. Each is given to restore as an include pattern; `*` and `?`
 * in a name become `?` (a pattern has no escape), so a name holding one may
 * bring a same-length neighbour along, never lose the file itself.
 */
export async function sampleFiles(trees: TreeLoader, root: string, n: number, seed: string): Promise<string[]> {
  const files: string[] = [];
  await walk(trees, root, { node: (path, node) => void (node.type === 'file' && files.push(path)) });
  for (let i = 0; i < Math.min(n, files.length); i++) {
    const j = i + Math.floor(random(seed, i) * (files.length - i));
    [files[i], files[j]] = [files[j]!, files[i]!];
  }
  return files.slice(0, n).map((p) => p.replace(/[*?]/g, '?'));
}

/** The i-th draw in [0, 1) of the seed's sequence. */
function random(seed: string, i: number): number {
  return createHash('sha256').update(`${seed}:${i}`).digest().readUInt32BE(0) / 2 ** 32;
}
