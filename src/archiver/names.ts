/**
 * The names in a directory, for the walk and the scan, as latin1 text (one
 * character a byte: any name's bytes come through, and no Buffer is made
 * per name). A directory whose size says it is small is listed in one
 * readdir call; a larger one (or one whose file system gives no size) is
 * streamed with opendir, so a directory of millions of entries is never
 * listed whole at once. An opendir costs more than the readdir of a small
 * directory itself (Node builds a Dir with two promisified methods, and a
 * Dirent per entry): on an unchanged re-backup of 976 directories, walked
 * and scanned, that was ~50 ms of CPU (docs/benchmarks.md, rebackup).
 *
 * A directory's st_size grows with its entries on ext4, XFS, btrfs and
 * tmpfs (blocks of entries, or bytes of names); 64 KiB is a few thousand
 * entries on each.
 */
import { opendirSync, readdirSync } from 'node:fs';

const SMALL = 64n * 1024n;
const LATIN1 = { encoding: 'latin1' as BufferEncoding };
const STREAMED = { encoding: 'latin1' as BufferEncoding, bufferSize: 256 };

/** The names in `dir` (its lstat size `size`), in the order the file system gives; throws when it cannot be read. */
export function dirNames(dir: Buffer, size: bigint): Iterable<string> {
  return size > 0n && size <= SMALL ? readdirSync(dir, LATIN1) : streamed(dir);
}

function* streamed(dir: Buffer): Generator<string> {
  const d = opendirSync(dir, STREAMED);
  try {
    for (let e = d.readSync(); e !== null; e = d.readSync()) yield e.name;
  } finally {
    d.closeSync();
  }
}
