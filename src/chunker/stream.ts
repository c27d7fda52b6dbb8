import type { FileHandle } from 'node:fs/promises';
import { EbakError } from '../errors.js';
import type { Cdc } from './cdc.js';

export const DEFAULT_READ_SIZE = 4 * 1024 * 1024;

/**
 * Reads a file through `handle` and yields each chunk as its own Buffer (freshly
 * allocated, exact length, byteOffset 0, not from the pool), so the caller may
 * transfer its ArrayBuffer to a worker thread. Memory: one working buffer of
 * max + readSize bytes plus the chunk being yielded, whatever the file size.
 *
 * The working buffer always holds >= max bytes (or the rest of the file) before
 * a cut is searched, so nextCut never answers -1 and no byte is hashed twice;
 * the price is copying the (< max) leftover to the front once per refill.
 */
export async function* chunkFile(handle: FileHandle, cdc: Cdc, opts?: { readSize?: number }): AsyncGenerator<Buffer> {
  const readSize = opts?.readSize ?? DEFAULT_READ_SIZE;
  if (!Number.isSafeInteger(readSize) || readSize < 1) throw new EbakError('USAGE', `chunkFile readSize must be a positive integer, got ${String(readSize)}`);
  const max = cdc.params.max;
  // A plain Uint8Array (not a Buffer) keeps the hot loop's element loads monomorphic.
  const work = new Uint8Array(max + readSize);
  let start = 0;
  let end = 0;
  let eof = false;
  for (;;) {
    while (!eof && end - start < max) {
      if (work.length - end < readSize) {
        work.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      const { bytesRead } = await handle.read(work, end, readSize, null);
      if (bytesRead === 0) eof = true;
      end += bytesRead;
    }
    if (start === end) return;
    const len = cdc.nextCut(work, start, end, eof);
    const chunk = Buffer.allocUnsafeSlow(len);
    chunk.set(work.subarray(start, start + len));
    start += len;
    yield chunk;
  }
}

/**
 * Splits an in-memory buffer into chunks. The returned Buffers are views that
 * share memory with `data` (no copies): for tests and small inputs.
 */
export function chunkBuffer(data: Uint8Array, cdc: Cdc): Buffer[] {
  const chunks: Buffer[] = [];
  for (let start = 0; start < data.length; ) {
    const len = cdc.nextCut(data, start, data.length, true);
    chunks.push(Buffer.from(data.buffer, data.byteOffset + start, len));
    start += len;
  }
  return chunks;
}
