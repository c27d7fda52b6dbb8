/**
 * A pack being assembled, kept in a temporary file instead of memory
 * (restic's way): the packer appends sealed blobs as they arrive, and only
 * the blobs not yet written (under FLUSH_BYTES) stay in memory. A 16 MiB
 * pack buffer per open pack (two data and two tree packs open side by side,
 * plus the ones being saved) was most of a backup's growth with its input
 * (docs/benchmarks.md, bmem3).
 *
 * The file has no name: on Linux it is made with O_TMPFILE in the system's
 * temporary directory (TMPDIR, else /tmp), where the kernel files it under
 * no name at all; elsewhere, or on a file system without O_TMPFILE, it is
 * created in a private directory (mkdtemp, mode 0700), unlinked at once, and
 * the directory removed. So no other user can open it, and a crash or a kill
 * leaves nothing behind (the kernel frees an unlinked file with its last
 * descriptor), save in the fallback's few system calls between mkdtemp and
 * the directory's removal: a kill -9 there left an empty directory (the crash
 * test saw it once, under load). It holds exactly the bytes the pack file
 * will hold: the prefix (kind, key source, salt), sealed blobs and the
 * sealed header, i.e. ciphertext only (docs/storage.md).
 *
 * The pack's id (SHA-256 of its bytes) is hashed as bytes are appended, so
 * the pack is read back once, for its save, a piece at a time (`source`).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, constants, mkdtempSync, openSync, read, rmSync, unlinkSync, write } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EbakError } from '../errors.js';
import { mapIoError } from '../util/fs.js';
import type { ByteSource } from '../storage/backend.js';

/**
 * Blobs are copied into write buffers of this size, written when full (a
 * small file's blob is ~1 KiB: one write per ~1,000 blobs); a blob this
 * large or larger is written as it is. Copied, not kept: a sealed small blob
 * is a view into its batch's reply buffer (workers.ts), which a view kept
 * until its write would keep alive into the old generation, freed only by a
 * major GC.
 */
const FLUSH_BYTES = 1024 * 1024;
/** Write buffers done with, for the next (one per open pack and per write in flight are in use). */
const spare: Buffer[] = [];
const SPARE_MAX = 8;

/** Names the file in errors: where it is, and how to move it (a full TMPDIR fails the backup with NO_SPACE). */
const what = () => `a pack being written (its temporary file in ${tmpdir()}; TMPDIR chooses another directory)`;
const writeAsync = promisify(write);
const readAsync = promisify(read);

export class PackSpool {
  /** Bytes appended so far (the pack's size). */
  size = 0;
  private readonly fd: number;
  private readonly hash: Hash = createHash('sha256');
  /** The write buffer being filled, and how much of it is. */
  private buf: Buffer | undefined;
  private used = 0;
  /** Where the next write goes: bytes before it are written or being written. */
  private queuedTo = 0;
  /** Writes and reads in flight: the descriptor is closed only once none is (a closed number may be reused by another file). */
  private ops = new Set<Promise<unknown>>();
  private failure: unknown;
  private closed = false;

  constructor() {
    this.fd = openUnnamed();
  }

  /**
   * Appends `b` at the end. A large `b` is kept until written: the caller
   * must not change it before `done` (called once `b` is no longer needed:
   * at once for a small one, copied, or after the write, failed or not).
   */
  append(b: Buffer, done?: () => void): void {
    if (this.closed) return done?.(); // discarded after a failure: a blob still arriving goes nowhere
    this.hash.update(b);
    this.size += b.length;
    if (b.length >= FLUSH_BYTES) {
      this.writeBuffered();
      this.write(b, done);
      return;
    }
    for (let at = 0; at < b.length;) {
      this.buf ??= spare.pop() ?? Buffer.allocUnsafeSlow(FLUSH_BYTES);
      const n = b.copy(this.buf, this.used, at);
      this.used += n;
      at += n;
      if (this.used === this.buf.length) this.writeBuffered();
    }
    done?.();
  }

  /** Waits until every byte appended is in the file; throws the first write's failure. */
  async flush(): Promise<void> {
    this.writeBuffered();
    await this.settled();
    if (this.failure !== undefined) throw this.failure;
  }

  /** The pack's id: SHA-256 of everything appended, hex (call once, after the last append). */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** Bytes [offset, offset + into.length) of what was appended, into `into` (flush first). */
  async readAt(offset: number, into: Buffer): Promise<void> {
    for (let at = 0; at < into.length; ) {
      if (this.closed) throw new EbakError('CANCELLED', `${what()} was discarded`);
      const { bytesRead } = await this.track(readAsync(this.fd, into, at, into.length - at, offset + at)).catch((e: unknown) => { throw mapIoError(e, what()); });
      if (bytesRead === 0) throw mapIoError(new Error('shorter than what was written'), what());
      at += bytesRead;
    }
  }

  /**
   * The pack as a save reads it (storage/source.ts), in pieces and as often
   * as it needs, until the spool is closed (flush first, after the last
   * append). Its digest (the pack's id) goes with the save as
   * SaveOptions.sha256. CANCELLED once discarded: no save starts.
   */
  source(): ByteSource {
    if (this.closed) throw new EbakError('CANCELLED', `${what()} was discarded`);
    return { length: this.size, read: (offset, into) => this.readAt(offset, into) };
  }

  /** Closes the file (its space is freed), once the writes in flight have settled. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.buf) giveBack(this.buf);
    this.buf = undefined;
    await this.settled();
    closeSync(this.fd);
  }

  private async settled(): Promise<void> {
    while (this.ops.size > 0) await Promise.allSettled([...this.ops]);
  }

  private track<T>(op: Promise<T>): Promise<T> {
    this.ops.add(op);
    const done = (): void => void this.ops.delete(op);
    op.then(done, done);
    return op;
  }

  /** Writes the write buffer's bytes, if any; the buffer is reused once written. */
  private writeBuffered(): void {
    const buf = this.buf;
    if (buf === undefined || this.used === 0 || this.closed) return;
    this.buf = undefined;
    this.write(buf.subarray(0, this.used), () => giveBack(buf));
    this.used = 0;
  }

  private write(b: Buffer, then?: () => void): void {
    const at = this.queuedTo;
    this.queuedTo += b.length;
    this.track(writeAll(this.fd, b, at)).then(then, (e: unknown) => {
      this.failure ??= mapIoError(e, what());
      then?.();
    });
  }
}

function giveBack(buf: Buffer): void {
  if (spare.length < SPARE_MAX) spare.push(buf);
}

/** Writes `b` at `at` (positioned: writes in flight together never interleave). */
async function writeAll(fd: number, b: Buffer, at: number): Promise<void> {
  // A short write (rare: a full disk reports ENOSPC on the next one) resumes where it stopped.
  for (let done = 0; done < b.length;) done += (await writeAsync(fd, b, done, b.length - done, at + done)).bytesWritten;
}

/**
 * Linux's O_TMPFILE: __O_TMPFILE (the same bit on x86-64 and arm64) with O_DIRECTORY, whose
 * value differs by architecture; Node has no constant for it.
 */
const O_TMPFILE = process.platform === 'linux' ? 0o20000000 | constants.O_DIRECTORY : undefined;
/** What open(2) answers for O_TMPFILE where the file system (EOPNOTSUPP) or an old kernel (EISDIR, EINVAL) lacks it. */
const NO_TMPFILE = new Set(['EOPNOTSUPP', 'EISDIR', 'EINVAL']);

/** A read-write file no one else can open and nothing names (the module's header says how). */
function openUnnamed(): number {
  if (O_TMPFILE !== undefined) {
    try {
      return openSync(tmpdir(), O_TMPFILE | constants.O_RDWR, 0o600);
    } catch (e) {
      if (!NO_TMPFILE.has((e as NodeJS.ErrnoException).code ?? '')) throw mapIoError(e, `the temporary directory ${tmpdir()} (set TMPDIR to another)`);
    }
  }
  return openInPrivateDirectory();
}

/** The fallback: made in a private directory, unlinked at once, the directory removed. */
function openInPrivateDirectory(): number {
  let dir: string;
  try {
    dir = mkdtempSync(join(tmpdir(), 'ebak-pack-'));
  } catch (e) {
    throw mapIoError(e, `the temporary directory ${tmpdir()} (set TMPDIR to another)`);
  }
  const path = join(dir, 'pack');
  try {
    const fd = openSync(path, 'wx+', 0o600);
    unlinkSync(path);
    return fd;
  } catch (e) {
    throw mapIoError(e, `a temporary file in ${dir}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
