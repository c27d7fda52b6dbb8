/**
 * A snapshot of one stream (restic's --stdin, --stdin-from-command): the
 * file `name` (default "stdin"; "a/b.sql" gives the directory /a holding
 * b.sql), mode 0644, its directories 0755, all with the snapshot's time, as
 * restic's fs.Reader makes them. The stream is chunked as it arrives, one
 * read at a time, so memory stays flat whatever its length. An empty stream
 * is an error, as in restic (a dump that printed nothing is no backup).
 */
import { chunkFile, type ChunkAlloc, type ChunkSource, type Cdc } from '../chunker/index.js';
import { EbakError } from '../errors.js';
import type { TreeNode } from '../repository/format/tree.js';

export interface StreamSource {
  /** The file's path in the snapshot, relative to its root. */
  readonly name: string;
  /** The bytes; an error it throws fails the backup (a failing command's exit, src/cli). */
  readonly source: AsyncIterable<Uint8Array>;
}

export interface StreamStore {
  storeFile(source: AsyncIterable<Uint8Array>): Promise<{ content: string[]; bytes: number }>;
  saveTree(nodes: TreeNode[]): Promise<string>;
}

/** The root tree holding the stream's file under the directories of its name. */
export async function saveStream(stream: StreamSource, time: Date, store: StreamStore): Promise<string> {
  const parts = stream.name.split('/').filter(Boolean);
  const file = parts.pop();
  if (file === undefined) throw new EbakError('USAGE', `--stdin-filename ${JSON.stringify(stream.name)} names no file`);
  const { content, bytes } = await store.storeFile(stream.source);
  if (bytes === 0) throw new EbakError('IO', 'standard input held no data: no snapshot saved');
  let node: TreeNode = { ...meta(file, time, 0o644), type: 'file', size: bytes, content };
  for (const dir of parts.reverse()) node = { ...meta(dir, time, 0o755), type: 'dir', subtree: await store.saveTree([node]) };
  return store.saveTree([node]);
}

function meta(name: string, time: Date, mode: number): Omit<TreeNode, 'type'> {
  const ns = (BigInt(time.getTime()) * 1_000_000n).toString();
  return { name, mode, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtime: ns, ctime: ns, inode: '0', dev: '0', links: 1 };
}

/** The chunks of a stream, read through the chunker's working buffer (one pending piece of the stream held beside it). */
export function chunkStream(source: AsyncIterable<Uint8Array>, cdc: Cdc, alloc?: ChunkAlloc): AsyncGenerator<Buffer> {
  return chunkFile(new StreamReader(source), cdc, { alloc });
}

/** A stream read as a file handle is: up to `length` bytes into the buffer, 0 at its end. */
class StreamReader implements ChunkSource {
  private readonly it: AsyncIterator<Uint8Array>;
  private rest: Uint8Array = new Uint8Array(0);

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  async read(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesRead: number }> {
    while (this.rest.length === 0) {
      const next = await this.it.next();
      if (next.done) return { bytesRead: 0 };
      this.rest = next.value;
    }
    const n = Math.min(length, this.rest.length);
    buffer.set(this.rest.subarray(0, n), offset);
    this.rest = this.rest.subarray(n);
    return { bytesRead: n };
  }
}
