/**
 * The pack-oriented write pass (restic's filerestorer): the files the walk
 * hands over (at most BATCH_FILES, of them at most SPREAD_FILES of more than
 * one blob) are planned per pack
 * — for every blob needed, each (file, offset) it goes to — and each pack's
 * needed ranges are read once: neighbouring blobs, across gaps of at most
 * MAX_GAP, come in one ranged read of at most MAX_RUN_BYTES, which a worker
 * opens and writes into the files itself (sink.ts). A file wholly in one run
 * is created and finished in that worker; a file spread over several runs
 * is opened here, written by descriptor in the workers, and finished here
 * after its last run. A batch goes out when it is full, or when the
 * workers are about to run dry (fewer than IDLE_RUNS runs outstanding):
 * while they are busy, the walk's files gather into one batch, whose
 * neighbouring blobs then share ranged reads and worker messages, instead
 * of a batch of a few files at every turn of the event loop (a restore of
 * 6,000 small files made 1,938 runs of 3 files on average, each a message
 * to a worker and back). Memory stays flat: the restorer bounds the files in
 * flight (so the descriptors held), the blob reader the runs being read.
 * A file that failed on a damaged blob the index holds another copy of is
 * written again through readBlobs, which tries the copies (a write-only
 * backup stores its data anew, so one damaged pack need not cost a file).
 */
import { closeSync } from 'node:fs';
import { EbakError } from '../errors.js';
import type { BlobReader, LocatedBlob } from '../repository/api.js';
import { BlobType } from '../repository/format/pack.js';
import { mapIoError } from '../util/fs.js';
import type { FileOutcome, RunFile, RunOutcome, RunTask } from './sink.js';
import { abandonFile, fileMeta, finishFile, openTarget, writeData, writeTargetFile, type FileMeta } from './target.js';

/**
 * Files planned together. A pack's blobs that a batch's files need come in
 * one ranged read per run (on S3 one GET), so the more files a batch plans,
 * the fewer reads of each pack: a restore of 6,778 files from 44 packs made
 * 248 GETs at 256 files a batch, 61 at 4,096 (docs/benchmarks.md, s3perf2).
 * Planning holds only each file's blob list, not its data.
 */
export const BATCH_FILES = 4096;
/**
 * Files of more than one blob in a batch: each may be spread over runs and
 * then held open from the batch's planning to its last run, so a batch goes
 * out at this many, whatever its size, and the restorer holds at most twice
 * this many in flight: the descriptors held stay bounded as at 256 files a batch.
 */
export const SPREAD_FILES = 256;
/**
 * Files at which a batch goes out at once while the workers are running dry
 * (fewer than IDLE_RUNS runs outstanding), not at the event loop's next
 * turn: a walk over trees already read never yields, and the restore's
 * first GET waited for it to pass all 6,778 files (270 ms).
 */
export const DRY_FILES = 256;
/** Outstanding runs below which a batch not yet full goes out (the workers would idle otherwise). */
const IDLE_RUNS = 2;
/** Unneeded bytes read rather than starting another ranged read (one GET on S3). */
const MAX_GAP = 256 * 1024;
/** Largest ranged read (the reader holds a few at once). */
const MAX_RUN_BYTES = 8 * 1024 * 1024;

const SINK = new URL('./sink.js', import.meta.url);
/** The failures a blob's other copy may cure (its own pack damaged or gone), unlike a full disk or a cancel. */
const REREAD = new Set(['AUTH_FAILED', 'CORRUPT', 'NOT_FOUND']);

/** One file to write: at `at`, its blobs in order (located, their sizes checked). */
export interface FileWrite {
  at: Buffer;
  meta: FileMeta;
  size: number;
  located: readonly LocatedBlob[];
}

/** How a file's write settles: the extended attributes not set, as messages, or why it failed (the file removed). */
export type FileDone = (result: string[] | Error) => void;

/** A file of the batch being written: how it settles, and (spread over runs) its descriptor and runs to go. */
interface Pending extends FileWrite {
  done: FileDone;
  spread?: { fd: number; left: number; failure?: Error };
  /** Failed before any run (its descriptor could not be opened): runs skip it. */
  dead?: boolean;
}

/** A run of one pack's blobs and, for each, where its bytes go: batch file index and offset, pairs flattened. */
interface Run {
  blobs: LocatedBlob[];
  targets: number[][];
}

export class PackWriter {
  private batch: Pending[] = [];
  /** Files of the batch with more than one blob (SPREAD_FILES). */
  private multiBlob = 0;
  private scheduled = false;
  /** Runs dispatched and not yet settled. */
  private running = 0;

  constructor(private readonly blobs: BlobReader, private readonly sparse: boolean, private readonly onData: (bytes: number) => void) {}

  /** Writes one file (removed again if it cannot be completed); resolves with the extended attributes not set, as messages. */
  write(f: FileWrite): Promise<string[]> {
    return new Promise((resolve, reject) => this.put(f, (r) => (r instanceof Error ? reject(r) : resolve(r))));
  }

  /**
   * write, answered through `done` (called once): the restore's walk hands over thousands of
   * files in flight, and a promise chain per file was most of the main thread's young garbage.
   */
  put(f: FileWrite, done: FileDone): void {
    if (f.located.length === 0) return settleWith(writeTargetFile(f.at, f.meta, 0, false, async () => undefined), done);
    this.batch.push({ at: f.at, meta: f.meta, size: f.size, located: f.located, done });
    if (f.located.length > 1) this.multiBlob++;
    if (this.batch.length >= BATCH_FILES || this.multiBlob >= SPREAD_FILES || (this.running < IDLE_RUNS && this.batch.length >= DRY_FILES)) this.flush();
    else this.schedule();
  }

  /** After this turn of the event loop (the walk may add more), the batch goes out if the workers are running dry. */
  private schedule(): void {
    if (this.scheduled || this.batch.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.running < IDLE_RUNS) this.flush();
    });
  }

  private flush(): void {
    const files = this.batch;
    this.batch = [];
    this.multiBlob = 0;
    if (files.length === 0) return;
    const runs = planRuns(files);
    const runsOf = new Map<number, number>();
    for (const run of runs) for (const f of filesOf(run)) runsOf.set(f, (runsOf.get(f) ?? 0) + 1);
    for (const [f, left] of runsOf) if (left > 1) this.openSpread(files[f]!, left);
    for (const run of runs) this.dispatch(files, run);
  }

  /** Opens a file its runs will write by descriptor. */
  private openSpread(p: Pending, left: number): void {
    try {
      p.spread = { fd: openTarget(p.at), left };
    } catch (e) {
      p.dead = true;
      p.done(e as Error);
    }
  }

  private dispatch(files: Pending[], run: Run): void {
    const members: number[] = []; // batch index of each task file
    const local = new Map<number, number>();
    const task: RunTask = { files: [], targets: [], sparse: this.sparse };
    for (const t of run.targets) {
      const out: number[] = [];
      for (let k = 0; k < t.length; k += 2) {
        const p = files[t[k]!]!;
        if (p.dead) continue;
        let j = local.get(t[k]!);
        if (j === undefined) {
          local.set(t[k]!, (j = members.length));
          members.push(t[k]!);
          task.files.push(runFile(p));
        }
        out.push(j, t[k + 1]!);
      }
      task.targets.push(out);
    }
    if (members.length === 0) return;
    this.running++;
    this.blobs.readRun(BlobType.data, run.blobs, SINK, task).then(
      (o) => {
        const outcome = o as RunOutcome;
        this.onData(outcome.bytes);
        let k = 0; // notes are in task order
        members.forEach((f, j) => {
          const fo = outcome.notes[k]?.[0] === j ? outcome.notes[k++]![1] : undefined;
          this.settle(files[f]!, fo === undefined ? [] : fo.ok ? fo.problems : errorOf(fo));
        });
        this.ran();
      },
      (e: Error) => {
        members.forEach((f) => this.settle(files[f]!, e));
        this.ran();
      },
    );
  }

  /** A run settled: a waiting batch may go out. */
  private ran(): void {
    this.running--;
    this.schedule();
  }

  /** One run of file `p` is done: with its problems, or failed. */
  private settle(p: Pending, result: string[] | Error): void {
    const s = p.spread;
    if (!s) return result instanceof Error ? this.failed(p, result) : p.done(result);
    if (result instanceof Error) s.failure ??= result;
    if (--s.left > 0) return;
    if (s.failure) {
      abandonFile(s.fd, p.at);
      return this.failed(p, s.failure);
    }
    try {
      const problems = finishFile(s.fd, p.at, p.meta, p.size, this.sparse);
      closeSync(s.fd);
      p.done(problems);
    } catch (e) {
      abandonFile(s.fd, p.at);
      p.done(mapIoError(e, `write ${p.at}`));
    }
  }

  /** The file failed (and was removed): written again from the blobs' other copies when a blob was damaged or gone and the index has some. */
  private failed(p: Pending, e: Error): void {
    const damaged = e instanceof EbakError && REREAD.has(e.code);
    if (!damaged || !p.located.some((b) => this.blobs.hasCopies(b.id))) return p.done(e);
    const offsets: number[] = [];
    p.located.reduce((at, b) => (offsets.push(at), at + b.loc.rawLength), 0);
    settleWith(writeTargetFile(p.at, p.meta, p.size, this.sparse, (write) => this.blobs.readBlobs(BlobType.data, p.located, (i, plain) => writeData(write, plain, offsets[i]!, this.sparse))), p.done);
  }
}

function settleWith(work: Promise<string[]>, done: FileDone): void {
  work.then(done, (e: Error) => done(e));
}

/**
 * A file as its run's message carries it: the path as a latin1 string (its bytes, one to one; a small
 * Buffer is a slice of Node's 8 KiB pool, and a message copies a view's whole ArrayBuffer), only the
 * metadata the worker sets, not the tree node (its content list, inode, times it does not set).
 */
function runFile(p: Pending): RunFile {
  const at = p.at.toString('latin1');
  return p.spread ? { at, fd: p.spread.fd, size: p.size } : { at, meta: fileMeta(p.meta), size: p.size };
}

function errorOf(fo: FileOutcome & { ok: false }): EbakError {
  return new EbakError(fo.code, fo.message, fo.hint === undefined ? undefined : { hint: fo.hint });
}

function filesOf(run: Run): Set<number> {
  const files = new Set<number>();
  for (const t of run.targets) for (let k = 0; k < t.length; k += 2) files.add(t[k]!);
  return files;
}

/** The batch's blobs per pack, each once with every place it goes, cut into runs in pack order. */
function planRuns(files: readonly FileWrite[]): Run[] {
  const packs = new Map<string, Map<number, { blob: LocatedBlob; targets: number[] }>>();
  files.forEach((f, i) => {
    let at = 0;
    for (const b of f.located) {
      let needed = packs.get(b.loc.pack.id);
      if (!needed) packs.set(b.loc.pack.id, (needed = new Map()));
      let n = needed.get(b.loc.offset); // a blob's offset names it within its pack
      if (!n) needed.set(b.loc.offset, (n = { blob: b, targets: [] }));
      n.targets.push(i, at);
      at += b.loc.rawLength;
    }
  });
  const runs: Run[] = [];
  for (const needed of packs.values()) {
    let run: Run | undefined;
    let start = 0;
    let end = 0;
    for (const n of [...needed.values()].sort((x, y) => x.blob.loc.offset - y.blob.loc.offset)) {
      const { offset, length } = n.blob.loc;
      if (!run || offset - end > MAX_GAP || offset + length - start > MAX_RUN_BYTES) {
        runs.push((run = { blobs: [], targets: [] }));
        start = offset;
      }
      run.blobs.push(n.blob);
      run.targets.push(n.targets);
      end = offset + length;
    }
  }
  return runs;
}
