/**
 * What a save stores (`Backend.save`): bytes in memory, or a `ByteSource`, a
 * re-readable source read in pieces (restic's RewindReader). A data pack is
 * assembled in a temporary file (repository/spool.ts); read back into one
 * buffer for its save, it took up to two 24 MiB buffers at a backup's peak
 * (docs/benchmarks.md, wt-bmem4), where a source read in pieces takes one
 * piece per save in flight.
 *
 * A source is read by offset, so a retried save (retry.ts) starts again from
 * byte 0 and the parts of a multipart upload are read independently. Every
 * backend and wrapper reads it through `pieces`: one code path, whether the
 * bytes are in memory or not.
 */
import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

export interface ByteSource {
  /** How many bytes it holds; fixed. */
  readonly length: number;
  /** Reads `into.length` bytes from `offset` into `into` (offset + into.length <= length); any number of times, in any order. */
  read(offset: number, into: Buffer): Promise<void>;
}

export type SaveData = Uint8Array | ByteSource;

/** The piece a source is read in: small beside a pack, large enough that its syscalls cost nothing (64 reads for a 16 MiB pack). */
export const PIECE_BYTES = 256 * 1024;

export function isSource(d: SaveData): d is ByteSource {
  return !(d instanceof Uint8Array);
}

export function sizeOf(d: SaveData): number {
  return isSource(d) ? d.length : d.byteLength;
}

/**
 * The bytes of `d` in order, as Buffers. Bytes in memory come as one view
 * (no copy). A source is read PIECE_BYTES at a time: into one buffer reused
 * for every piece (`reuse`, the default: the caller is done with a piece
 * before it asks for the next), or into a new buffer per piece (for a
 * consumer that may still hold a piece when it asks for the next, as a
 * socket's write queue does).
 */
export async function* pieces(d: SaveData, reuse = true): AsyncGenerator<Buffer> {
  if (!isSource(d)) {
    yield Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    return;
  }
  let buf: Buffer | undefined;
  for (let at = 0; at < d.length; at += PIECE_BYTES) {
    const n = Math.min(PIECE_BYTES, d.length - at);
    buf = reuse && buf !== undefined ? buf : Buffer.allocUnsafeSlow(reuse ? Math.min(PIECE_BYTES, d.length) : n);
    const piece = buf.subarray(0, n);
    await d.read(at, piece);
    yield piece;
  }
}

/** Writes all of `d` at `fh`'s position, piece by piece (`seen` is shown each piece before it is written: to hash it). */
export async function writeTo(fh: FileHandle, d: SaveData, seen?: (piece: Buffer) => void): Promise<void> {
  for await (const piece of pieces(d)) {
    seen?.(piece);
    // A short write (rare: a full disk reports ENOSPC on the next one) resumes where it stopped.
    for (let done = 0; done < piece.length; ) done += (await fh.write(piece, done, piece.length - done, null)).bytesWritten;
  }
}

/** SHA-256 of all of `d`, computed (reading a source once more): for a caller that was not given it (SaveOptions.sha256). */
export async function sha256Of(d: SaveData): Promise<Buffer> {
  const h = createHash('sha256');
  for await (const p of pieces(d)) h.update(p);
  return h.digest();
}
