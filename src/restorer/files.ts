/**
 * A file's contents from its blobs. Every blob is located and the sizes
 * agree before the file is even created; the file then goes to the pack
 * writer (packs.ts), which reads each pack's needed ranges once for all the
 * files of its batch and has the worker threads write them.
 */
import { EbakError } from '../errors.js';
import type { BlobIndex, LocatedBlob } from '../repository/api.js';
import type { TreeNode } from '../repository/format/tree.js';
import type { PackWriter } from './packs.js';

/**
 * Writes the file `n` of `path` (at `at`: a temporary name when it replaces an entry there);
 * `onProblem` hears of each extended attribute not set (the file stays).
 */
export async function restoreContents(index: BlobIndex, writer: PackWriter, path: Buffer, n: TreeNode, onProblem: (msg: string) => void, at = path): Promise<void> {
  const located = locateContent(index, path, n);
  const problems = await writer.write({ at, meta: n, size: n.size ?? 0, located });
  for (const p of problems) onProblem(p);
}

/**
 * The file `n`'s blobs, each located in the index, checked to add up to the
 * size the snapshot records (restore and dump read a file through this).
 */
export function locateContent(blobs: BlobIndex, path: Buffer | string, n: TreeNode): LocatedBlob[] {
  const located: LocatedBlob[] = n.content!.map((hex) => {
    const id = Buffer.from(hex, 'hex');
    const loc = blobs.lookupBlob(id);
    if (!loc) throw new EbakError('NOT_FOUND', `${path}: data blob ${hex.slice(0, 16)} is missing from the repository (run \`ebak check\`)`);
    return { id, loc };
  });
  const size = located.reduce((sum, b) => sum + b.loc.rawLength, 0);
  if (size !== n.size) throw new EbakError('CORRUPT', `${path}: its blobs hold ${size} bytes but the snapshot records ${n.size}`);
  return located;
}
