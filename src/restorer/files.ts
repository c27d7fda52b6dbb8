/**
 * A file's contents from its blobs. Every blob is located and the sizes
 * agree before the file is even created; blobs are then fetched and opened
 * concurrently (workers authenticate and decompress, neighbours in one pack
 * come in one ranged read) and each is written at its offset as soon as it
 * is ready. Sparse (restic's --sparse): the all-zero file-system blocks of
 * a blob are not written, so they stay holes (the file is created empty and
 * given its size at the end; a hole reads as zeros).
 */
import { EbakError } from '../errors.js';
import type { BlobIndex, BlobReader, LocatedBlob } from '../repository/api.js';
import { BlobType } from '../repository/format/pack.js';
import type { TreeNode } from '../repository/format/tree.js';
import { isAllZero } from '../util/buffers.js';
import { writeTargetFile } from './target.js';

/**
 * Writes the file `n` of `path` (at `at`: a temporary name when it replaces an entry there);
 * `onData` hears of every blob's bytes once written, `onProblem` of each
 * extended attribute not set (the file stays).
 */
export async function restoreContents(blobs: BlobReader, path: Buffer, n: TreeNode, onData: (bytes: number) => void, onProblem: (msg: string) => void, at = path, sparse = false): Promise<void> {
  const located = locateContent(blobs, path, n);
  const offsets: number[] = [];
  let size = 0;
  for (const b of located) {
    offsets.push(size);
    size += b.loc.rawLength;
  }
  const problems = await writeTargetFile(at, n, size, (write) => blobs.readBlobs(BlobType.data, located, (i, plain) => {
    if (sparse) writeSparse(write, plain, offsets[i]!);
    else write(plain, offsets[i]!);
    onData(plain.length);
  }));
  for (const p of problems) onProblem(p);
}

/** A file system block: holes are made of whole ones, aligned in the file. */
const BLOCK = 4096;

/** Writes the parts of `data` (at file offset `at`) that are not whole zero blocks. */
function writeSparse(write: (data: Buffer, at: number) => void, data: Buffer, at: number): void {
  let run = -1; // where the pending non-zero run starts in `data`
  for (let off = 0; off < data.length; ) {
    const end = Math.min(data.length, (Math.floor((at + off) / BLOCK) + 1) * BLOCK - at);
    const zero = isAllZero(data.subarray(off, end));
    if (!zero && run < 0) run = off;
    if (zero && run >= 0) {
      write(data.subarray(run, off), at + run);
      run = -1;
    }
    off = end;
  }
  if (run >= 0) write(data.subarray(run), at + run);
}

/**
 * The file `n`'s blobs, each located in the index, checked to add up to the
 * size the snapshot records (restore and dump read a file through this).
 */
export function locateContent(blobs: BlobIndex, path: Buffer | string, n: TreeNode): LocatedBlob[] {
  const located: LocatedBlob[] = n.content!.map((hex) => {
    const loc = blobs.lookupBlob(Buffer.from(hex, 'hex'));
    if (!loc) throw new EbakError('NOT_FOUND', `${path}: data blob ${hex.slice(0, 16)} is missing from the repository (run \`ebak check\`)`);
    return { id: Buffer.from(hex, 'hex'), loc };
  });
  const size = located.reduce((sum, b) => sum + b.loc.rawLength, 0);
  if (size !== n.size) throw new EbakError('CORRUPT', `${path}: its blobs hold ${size} bytes but the snapshot records ${n.size}`);
  return located;
}
