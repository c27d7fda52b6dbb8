/**
 * The restorer's half of a pack run, in the worker thread that opened its
 * blobs (BlobReader.readRun loads this module there): each plaintext is
 * written straight into the files it belongs to, with positional writes, so
 * neither the bytes nor the file opens go through the main thread. A file
 * wholly in this run is created, written and finished (size, owner, mode,
 * extended attributes, times) here; a file spread over several runs was
 * opened by the main thread, is written here by descriptor, and finished
 * there once its last run is done (packs.ts). Blobs are opened one at a
 * time as they are written; one that does not open fails only the files it
 * feeds; a file that fails is removed.
 */
import { closeSync } from 'node:fs';
import type { ErrorCode } from '../errors.js';
import { isEbakError } from '../errors.js';
import type { OpenedBlob } from '../repository/runsink.js';
import { mapIoError } from '../util/fs.js';
import { abandonFile, finishFile, openTarget, writeAll, writeData, type FileMeta } from './target.js';

/** One file a run writes into. */
export interface RunFile {
  /** Where it is written: the path's bytes as latin1 (one character a byte; a temporary name when it replaces an entry). */
  at: string;
  /** Spread over several runs: the descriptor the main thread opened (and finishes). */
  fd?: number;
  /** Wholly in this run: what to finish it with here. */
  meta?: FileMeta;
  size: number;
}

export interface RunTask {
  files: RunFile[];
  /** For each blob of the run, where its bytes go: file index and offset, pairs flattened. */
  targets: number[][];
  sparse: boolean;
}

export type FileOutcome = { ok: true; problems: string[] } | { ok: false; code: ErrorCode; message: string; hint?: string };

export interface RunOutcome {
  /**
   * The task files that failed or have problems, by index in the task, in order; every other one was
   * written with none. An outcome per file (an object and an array each) was most of what a run's
   * answer cloned: a restore of 20,000 small files sends 20,000 of them back.
   */
  notes: [file: number, outcome: FileOutcome][];
  /** Plaintext bytes written. */
  bytes: number;
}

export function consume(task: unknown, blobs: Iterable<OpenedBlob>): RunOutcome {
  return new RunWriter(task as RunTask).write(blobs);
}

class RunWriter {
  private readonly outcomes: (FileOutcome | undefined)[];
  private readonly paths: Buffer[];
  private readonly fds: number[] = [];
  private bytes = 0;

  constructor(private readonly task: RunTask) {
    this.outcomes = task.files.map(() => undefined);
    this.paths = task.files.map((f) => Buffer.from(f.at, 'latin1'));
  }

  write(blobs: Iterable<OpenedBlob>): RunOutcome {
    this.task.files.forEach((f, i) => this.attempt(i, () => (this.fds[i] = f.fd ?? openTarget(this.paths[i]!))));
    let i = 0;
    for (const b of blobs) {
      // A damaged blob fails only the files it feeds (each removed, here or by the main thread).
      if (b.ok) this.eachTarget(i++, (f, at) => this.attempt(f, () => this.put(f, b.data, at)));
      else this.eachTarget(i++, (f) => this.fail(f, b));
    }
    this.task.files.forEach((f, k) => f.meta && this.finish(k, withBuffers(f.meta), f.size));
    const notes: RunOutcome['notes'] = [];
    this.outcomes.forEach((o, f) => {
      if (o && (!o.ok || o.problems.length > 0)) notes.push([f, o]);
    });
    return { notes, bytes: this.bytes };
  }

  private eachTarget(blob: number, fn: (file: number, at: number) => void): void {
    const t = this.task.targets[blob]!;
    for (let k = 0; k < t.length; k += 2) fn(t[k]!, t[k + 1]!);
  }

  private put(f: number, data: Buffer, at: number): void {
    const write = (d: Buffer, off: number) => writeAll(this.fds[f]!, d, off, this.paths[f]!);
    writeData(write, data, at, this.task.sparse);
    this.bytes += data.length;
  }

  /** A file created here: finished, or (failed) removed; its descriptor closed either way. */
  private finish(f: number, meta: FileMeta, size: number): void {
    const fd = this.fds[f];
    if (fd === undefined) return; // never opened
    const path = this.paths[f]!;
    let problems: string[] = [];
    this.attempt(f, () => (problems = finishFile(fd, path, meta, size, this.task.sparse)));
    if (this.outcomes[f]) return abandonFile(fd, path);
    this.attempt(f, () => closeSync(fd));
    this.outcomes[f] ??= { ok: true, problems };
  }

  /** Runs `fn` for file `f` unless it already failed; what it throws fails the file. */
  private attempt(f: number, fn: () => void): void {
    if (this.outcomes[f]) return;
    try {
      fn();
    } catch (e) {
      const err = isEbakError(e) ? e : mapIoError(e, `write ${this.paths[f]}`);
      this.fail(f, { code: err.code, message: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }) });
    }
  }

  private fail(f: number, why: { code: ErrorCode; message: string; hint?: string }): void {
    this.outcomes[f] ??= { ok: false, code: why.code, message: why.message, ...(why.hint === undefined ? {} : { hint: why.hint }) };
  }
}

/** A message carries Buffers as plain Uint8Arrays: the same bytes, as Buffers again. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function withBuffers(meta: FileMeta): FileMeta {
  return meta.xattrs ? { ...meta, xattrs: meta.xattrs.map((x) => ({ name: asBuffer(x.name), value: asBuffer(x.value) })) } : meta;
}
