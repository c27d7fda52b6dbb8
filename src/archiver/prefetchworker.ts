/**
 * Worker-thread entry of Prefetch (prefetch.ts): walks the backup paths in
 * the backup's own order (names sorted by their bytes, depth first), leaves
 * out what the backup leaves out (the same Selection), and reads each
 * regular file into one scratch buffer, which is then dropped: the point is
 * the page cache (and the inode and directory caches its lstats and
 * readdirs fill), so the backup's own reads find the bytes there.
 *
 * It keeps at most `lead` bytes ahead of what the backup has read
 * (`counter[0]`, added to by the main thread, which wakes it when asked
 * to: `holdBack`), and passes
 * over files the backup has already gone past. Every failure is ignored:
 * reading ahead is advice, the backup reads (and reports) for itself.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { workerData } from 'node:worker_threads';
import { Selection, type SelectOptions } from './exclude.js';
import { dirNames } from './names.js';

export interface PrefetchData {
  roots: Uint8Array[];
  select: SelectOptions;
  /** [0]: bytes the backup has read so far; [1]: 1 once the walk is to stop; [2]: the [0] to wake this thread at. */
  counter: SharedArrayBuffer;
  lead: number;
}

const BLOCK = 1024 * 1024;
const SLASH = Buffer.from('/');
const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

const data = workerData as PrefetchData;
const counter = new BigInt64Array(data.counter);
const selection = new Selection(data.select);
const scratch = Buffer.allocUnsafeSlow(BLOCK);
/** Bytes this walk has reached (read or passed over), in the backup's order. */
let reached = 0;

const consumed = (): number => Number(Atomics.load(counter, 0));
const stopped = (): boolean => Atomics.load(counter, 1) !== 0n;

/** Woken at no count: the thread is not sleeping. */
const AWAKE = 2n ** 62n;
Atomics.store(counter, 2, AWAKE);

/**
 * Once `lead` bytes or more are read ahead of the backup, sleeps until it is
 * no more than half of `lead` behind: the main thread wakes it at that count
 * (`counter[2]`, stored before the count is looked at again, so a wake is
 * never missed), not at every chunk.
 */
function holdBack(): void {
  if (reached - consumed() < data.lead) return;
  const wakeAt = reached - Math.floor(data.lead / 2);
  Atomics.store(counter, 2, BigInt(wakeAt));
  for (let seen = Atomics.load(counter, 0); Number(seen) < wakeAt && !stopped(); seen = Atomics.load(counter, 0)) Atomics.wait(counter, 0, seen, 1000);
  Atomics.store(counter, 2, AWAKE);
}

/** Whether the backup is past the next `bytes` already: then they are passed over. */
function passed(bytes: number): boolean {
  if (reached + bytes > consumed()) return false;
  reached += bytes;
  return true;
}

function readAhead(path: Buffer, size: number): void {
  if (passed(size)) return;
  let fd: number;
  try {
    fd = openSync(path, FLAGS);
  } catch {
    return;
  }
  try {
    if (!fstatSync(fd).isFile()) return;
    for (let at = 0; at < size && !stopped();) {
      holdBack();
      if (passed(size - at)) return;
      const n = readSync(fd, scratch, 0, Math.min(BLOCK, size - at), at);
      if (n === 0) break;
      at += n;
      reached += n;
    }
  } catch {
    // unreadable: the backup says so itself
  } finally {
    closeSync(fd);
  }
}

function visit(path: Buffer, parentDev: bigint | undefined): void {
  const named = selection.byName(path);
  if (named === 'skip' || stopped()) return;
  let st: BigIntStats;
  try {
    st = lstatSync(path, { bigint: true });
  } catch {
    return;
  }
  const verdict = selection.byStat(st, parentDev);
  if (verdict === 'skip' || (named === 'enter' && !st.isDirectory())) return;
  if (st.isFile()) return readAhead(path, Number(st.size));
  if (!st.isDirectory() || verdict === 'mountpoint') return;
  const base = path.equals(SLASH) ? Buffer.alloc(0) : path;
  const keep = selection.keeps(path);
  const names: string[] = [];
  try {
    for (const name of dirNames(path, st.size)) if (keep(name)) names.push(name);
  } catch {
    return;
  }
  for (const name of names.sort()) visit(Buffer.concat([base, SLASH, Buffer.from(name, 'latin1')]), st.dev);
}

for (const root of data.roots) visit(Buffer.from(root.buffer, root.byteOffset, root.byteLength), undefined);
