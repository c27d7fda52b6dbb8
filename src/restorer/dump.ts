/**
 * A file's contents, in order, as a stream of authenticated blobs (restic's
 * `GetNodeData`): the blobs are located and their sizes checked as restore
 * does (src/restorer/files.ts), then read a few at a time through the
 * repository's blob reader, which authenticates each before it is handed
 * on. Memory stays flat whatever the file's size: at most WINDOW blobs are
 * held, and the next window is read only once the writer has taken the last.
 */
import type { BlobReader } from '../repository/api.js';
import { BlobType } from '../repository/format/pack.js';
import type { TreeNode } from '../repository/format/tree.js';
import { locateContent } from './files.js';

/** Blobs read in one go (neighbours in one pack come in one ranged read). */
const WINDOW = 4;

/** Writes the contents of file `n` (at `path`, for errors) blob by blob; `write` resolves when the bytes are taken. */
export async function writeContents(blobs: BlobReader, path: string, n: TreeNode, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  const located = locateContent(blobs, path, n);
  for (let i = 0; i < located.length; i += WINDOW) {
    const window = located.slice(i, i + WINDOW);
    const plains: Buffer[] = [];
    await blobs.readBlobs(BlobType.data, window, (k, plain) => (plains[k] = plain));
    for (const plain of plains) await write(plain);
  }
}
