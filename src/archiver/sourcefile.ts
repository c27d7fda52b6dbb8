/**
 * Opening a source file for reading, as the main thread and the chunking
 * thread (chunkworker.ts) both do, and the one error class that says "this
 * file, not the backup": a live source never breaks a backup (index.ts).
 */
import { constants } from 'node:fs';
import { EbakError } from '../errors.js';
import { mapIoError } from '../util/fs.js';

/** O_NONBLOCK: opening a FIFO swapped in for the file returns at once (fstat then refuses it). */
export const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Reading the source failed (the file vanished, changed type, or cannot be read): skip it, never the backup. */
export class SourceError extends Error {
  constructor(readonly error: EbakError) {
    super(error.message);
  }
}

export function sourceError(e: unknown, path: Buffer): SourceError {
  return e instanceof SourceError ? e : new SourceError(mapIoError(e, path.toString()));
}

export function stillRegular(path: Buffer, isFile: boolean): void {
  if (!isFile) throw new SourceError(new EbakError('IO', `${path}: changed since the walk (no longer a regular file); skipped`));
}
