/**
 * `ebak stats`: how big snapshots are, restic's command and modes.
 *   restore-size       every entry, and the bytes a restore writes (a hard
 *                      link's inode counted once per snapshot)
 *   files-by-contents  files with distinct contents, and their bytes
 *   raw-data           the distinct blobs the snapshots use (trees too):
 *                      stored bytes, uncompressed bytes, compression
 *   blobs-per-file     distinct files, their blobs, and bytes
 * Field names in --json are restic's.
 */
import { EbakError } from '../../errors.js';
import type { BlobIndex, SnapshotEntry, TreeLoader } from '../../repository/api.js';
import type { TreeNode } from '../../repository/format/tree.js';
import { usedBlobs, walk } from '../../walker/index.js';
import { defineCommand, type Output } from '../command.js';
import { EXIT_PARTIAL } from '../exit.js';
import { formatBytes } from '../format.js';
import { selectSnapshots, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

type Mode = 'restore-size' | 'files-by-contents' | 'raw-data' | 'blobs-per-file';

interface Stats {
  total_size: number;
  total_file_count: number;
  snapshots_count: number;
  total_blob_count?: number;
  total_uncompressed_size?: number;
  compression_ratio?: number;
  compression_space_saving?: number;
}

export const statsCommand = defineCommand({
  name: 'stats',
  usage: 'ebak stats [snapshot-id...] [--mode restore-size|files-by-contents|raw-data|blobs-per-file] [--host H] [--tag T[,T]] [--path P] [--json]',
  async run({ positionals, values, lists }, ctx) {
    const mode = (values.mode ?? 'restore-size') as Mode; // checked against the schema's list
    return withRepo(ctx, { index: true, readOnly: true }, async (repo) => {
      const { entries, damaged } = await selectSnapshots(repo, positionals, snapshotFilter(lists));
      for (const e of damaged) ctx.out.warn(`${e.message}; not counted`);
      const stats = mode === 'raw-data' ? await rawData(repo, repo, entries) : await byFiles(repo, entries, mode);
      print(ctx.out, mode, stats);
      return damaged.length > 0 ? EXIT_PARTIAL : 0;
    });
  },
});

/** restore-size, files-by-contents, blobs-per-file: one walk per snapshot over its entries. */
async function byFiles(trees: TreeLoader, entries: SnapshotEntry[], mode: Mode): Promise<Stats> {
  const stats: Stats = { total_size: 0, total_file_count: 0, snapshots_count: entries.length, ...(mode === 'blobs-per-file' ? { total_blob_count: 0 } : {}) };
  const contents = new Set<string>();
  const blobs = new Set<string>();
  for (const { snapshot } of entries) {
    const inodes = new Set<string>();
    await walk(trees, snapshot.tree, {
      node(_path, n) {
        if (mode === 'restore-size') return countRestored(stats, inodes, n);
        if (n.type !== 'file') return;
        const key = n.content!.join('');
        if (contents.has(key)) return;
        contents.add(key);
        stats.total_file_count++;
        stats.total_size += n.size ?? 0;
        if (mode === 'blobs-per-file') for (const b of n.content!) blobs.add(b);
      },
    });
  }
  if (mode === 'blobs-per-file') stats.total_blob_count = blobs.size;
  return stats;
}

/** Every entry counts; a file's bytes count once per inode within a snapshot (hard links are restored as links). */
function countRestored(stats: Stats, inodes: Set<string>, n: TreeNode): void {
  stats.total_file_count++;
  if (n.type !== 'file') return;
  if (n.links > 1) {
    const key = `${n.dev}:${n.inode}`;
    if (inodes.has(key)) return;
    inodes.add(key);
  }
  stats.total_size += n.size ?? 0;
}

/** The distinct blobs the snapshots use, sized from the index (stored and uncompressed). */
async function rawData(trees: TreeLoader, index: BlobIndex, entries: SnapshotEntry[]): Promise<Stats> {
  const used = usedBlobs();
  for (const { snapshot } of entries) await walk(trees, snapshot.tree, used);
  let stored = 0;
  let raw = 0;
  for (const hex of used.blobs) {
    const loc = index.lookupBlob(Buffer.from(hex, 'hex'));
    if (!loc) throw new EbakError('CORRUPT', `blob ${hex} is used but not in the index`, { hint: 'run `ebak check`' });
    stored += loc.length;
    raw += loc.rawLength;
  }
  return {
    total_size: stored, total_file_count: 0, snapshots_count: entries.length, total_blob_count: used.blobs.size,
    total_uncompressed_size: raw, compression_ratio: stored > 0 ? raw / stored : 0, compression_space_saving: raw > 0 ? (1 - stored / raw) * 100 : 0,
  };
}

function print(out: Output, mode: Mode, s: Stats): void {
  out.line(`Stats in ${mode} mode:`);
  out.line(`     Snapshots processed:  ${s.snapshots_count}`);
  if (mode !== 'raw-data') out.line(`        Total File Count:  ${s.total_file_count}`);
  if (s.total_blob_count !== undefined) out.line(`        Total Blob Count:  ${s.total_blob_count}`);
  if (s.total_uncompressed_size !== undefined) out.line(` Total Uncompressed Size:  ${formatBytes(s.total_uncompressed_size)}`);
  out.line(`              Total Size:  ${formatBytes(s.total_size)}`);
  if (s.compression_ratio !== undefined) {
    out.line(`       Compression Ratio:  ${s.compression_ratio.toFixed(2)}x`);
    out.line(`Compression Space Saving:  ${s.compression_space_saving!.toFixed(2)} %`);
  }
  out.result(s);
}
