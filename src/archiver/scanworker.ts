/**
 * Worker-thread entry of the size scan (scan.ts): walks the backup paths
 * with its own synchronous lstat and readdir calls, leaving out what the
 * backup leaves out (the same Selection), and posts the totals found so far
 * at most every POST_MS, then the final ones. Names are read as bytes, as
 * the backup reads them, so none is missed for not being UTF-8. An entry
 * that cannot be read counts nothing, as the backup reads nothing there.
 */
import { lstatSync, type BigIntStats } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { Selection, type SelectOptions } from './exclude.js';
import { dirNames } from './names.js';

export interface ScanData {
  roots: Uint8Array[];
  select: SelectOptions;
}

/** What the thread posts: the totals so far, `done` on the last message. */
export interface ScanMessage {
  files: number;
  bytes: number;
  done: boolean;
}

const POST_MS = 100;
/** Entries between two looks at the clock. */
const CLOCK_EVERY = 256;
const SLASH = Buffer.from('/');

const data = workerData as ScanData;
const selection = new Selection(data.select);
const total: ScanMessage = { files: 0, bytes: 0, done: false };
let seen = 0;
let posted = performance.now();

function post(): void {
  parentPort!.postMessage(total);
  posted = performance.now();
}

function visit(path: Buffer, parentDev: bigint | undefined): void {
  if (++seen % CLOCK_EVERY === 0 && performance.now() - posted >= POST_MS) post();
  const named = selection.byName(path);
  if (named === 'skip') return;
  const st = lstatOrNot(path);
  const verdict = st && selection.byStat(st, parentDev);
  if (!st || verdict === 'skip' || (named === 'enter' && !st.isDirectory())) return;
  if (st.isFile()) {
    total.files++;
    total.bytes += Number(st.size);
  } else if (st.isDirectory() && verdict === 'keep') {
    const base = path.equals(SLASH) ? Buffer.alloc(0) : path;
    const keep = selection.keeps(path);
    try {
      for (const name of dirNames(path, st.size)) if (keep(name)) visit(Buffer.concat([base, SLASH, Buffer.from(name, 'latin1')]), st.dev);
    } catch {
      // unreadable: counts nothing, as the backup reads nothing there
    }
  }
}

function lstatOrNot(path: Buffer): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

for (const root of data.roots) visit(Buffer.from(root.buffer, root.byteOffset, root.byteLength), undefined);
total.done = true;
post();
