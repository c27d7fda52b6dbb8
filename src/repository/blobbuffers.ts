/**
 * Buffers for large chunks, reused from the read to the pack's temporary
 * file. A chunk is read into one with room before it for the nonce and
 * after it for the tag, transferred to a worker, sealed there where it lies
 * (blob.ts sealBlobInPlace), transferred back, written, and kept here for the
 * next chunk. Before, each chunk was a fresh buffer freed only when the
 * worker's isolate next collected garbage, and each sealed blob another one
 * freed by the main isolate's: on one 256 MiB file the main thread's malloc
 * heap held ~85 MiB of them (docs/benchmarks.md, bmem3 and bmem4).
 *
 * One pool for the process (like the spool's write buffers): buffers in use
 * are bounded by the packer's budget, those kept by KEPT_BYTES.
 */
import { runInNewContext } from 'node:vm';
import { NONCE_BYTES, TAG_BYTES } from '../crypto/index.js';

/** A chunk's plaintext starts this far into its buffer (the nonce goes before it). */
export const BLOB_HEAD = NONCE_BYTES;
/** Room left after a chunk's plaintext (the tag goes after the ciphertext). */
export const BLOB_TAIL = TAG_BYTES;

/**
 * Free buffers kept, in bytes of capacity; past this the oldest are left to
 * the garbage collector. 24 MiB of them were the largest live part of the
 * main thread's memory on the real-file corpus; with the packer's sealing
 * bounded in bytes few are in use, and that corpus peaked at 168-172 MiB
 * with 8 MiB kept against 171-188 with 16, at the same CPU time
 * (docs/benchmarks.md, bmem6).
 */
const KEPT_BYTES = 8 * 1024 * 1024;
/** A free buffer serves a chunk when at most this much larger than it needs (its pages are all resident once used). */
const SLACK = 1.5;
/** Chunks up to this size are not pooled. */
export const SMALL_BYTES = 64 * 1024;

/**
 * A full collection of this isolate after every COLLECT_BYTES of new buffers
 * made (none free fitted). Each replaces one left to the garbage collector
 * (dropped past KEPT_BYTES, or a chunker's working buffer outgrown), whose
 * memory comes back only once its ArrayBuffer object is collected, and V8
 * starts a full collection for external memory only ~64 MiB past the last
 * one: 40-60 MiB of them were most of the real-file corpus' peak (the main
 * thread's live buffers were ~45 MiB), at ~5 ms a collection
 * (docs/benchmarks.md, bmem6).
 *
 * `gc` exists when the process exposes it (bin/ebak sets --expose-gc before
 * this module loads: a new context has it); under plain `node` nothing is done.
 */
const COLLECT_BYTES = 32 * 1024 * 1024;
const collect = ((): (() => void) | undefined => {
  try {
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
})();
let madeSinceCollect = 0;

/** A buffer of `capacity` bytes made, collecting the isolate's garbage first every COLLECT_BYTES. */
function newBuffer(capacity: number): ArrayBuffer {
  if (collect && (madeSinceCollect += capacity) >= COLLECT_BYTES) {
    madeSinceCollect = 0;
    collect();
  }
  return Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
}

/** Free buffers, oldest first. */
const free: ArrayBuffer[] = [];
let kept = 0;
/** Buffers handed out (or adopted back from a worker) and not transferred or given back since. */
const made = new WeakSet<ArrayBuffer>();

/** A new buffer's capacity: rounded up to a quarter of its power of two (at most 25 % unused). */
function capacityFor(length: number): number {
  const need = length + BLOB_HEAD + BLOB_TAIL;
  const step = 2 ** Math.floor(Math.log2(need)) / 4;
  return Math.ceil(need / step) * step;
}

/**
 * A chunk buffer of `length` bytes: a view at BLOB_HEAD into a buffer of
 * its own with BLOB_TAIL bytes to spare (contents undefined). Up to
 * SMALL_BYTES, a plain buffer of its own instead: a small blob is copied
 * into a batch for the workers (workers.ts), so it is never sealed in place.
 */
export function takeBlobBuffer(length: number): Buffer {
  if (length <= SMALL_BYTES) return Buffer.allocUnsafeSlow(length);
  const buffer = bestFit(length + BLOB_HEAD + BLOB_TAIL) ?? newBuffer(capacityFor(length));
  made.add(buffer);
  return Buffer.from(buffer, BLOB_HEAD, length);
}

/** The smallest free buffer of `need` bytes or up to SLACK times more, taken off the free list. */
function bestFit(need: number): ArrayBuffer | undefined {
  let best = -1;
  for (let i = 0; i < free.length; i++) {
    const size = free[i]!.byteLength;
    if (size >= need && size <= need * SLACK && (best < 0 || size < free[best]!.byteLength)) best = i;
  }
  if (best < 0) return undefined;
  const [buffer] = free.splice(best, 1);
  kept -= buffer!.byteLength;
  return buffer;
}

/** Whether `b` came from takeBlobBuffer (and was not transferred since): it may be sealed where it lies. */
export function isBlobBuffer(b: Uint8Array): boolean {
  return b.buffer instanceof ArrayBuffer && made.has(b.buffer) && b.byteOffset === BLOB_HEAD && b.byteLength + BLOB_HEAD + BLOB_TAIL <= b.buffer.byteLength;
}

/** A buffer sent to a worker by isBlobBuffer and come back from it (a new ArrayBuffer object over the same memory): a chunk buffer again. */
export function adoptBlobBuffer(b: Uint8Array): void {
  if (b.buffer instanceof ArrayBuffer && b.buffer.byteLength === capacityFor(b.buffer.byteLength - BLOB_HEAD - BLOB_TAIL)) made.add(b.buffer);
}

/** Keeps a chunk buffer (any view into one) for the next chunk; anything else is ignored. The caller must not use `b` afterwards. */
export function giveBlobBuffer(b: Uint8Array): void {
  const buffer = b.buffer;
  if (!(buffer instanceof ArrayBuffer) || !made.has(buffer)) return;
  made.delete(buffer); // kept once, even if given back twice
  free.push(buffer);
  for (kept += buffer.byteLength; kept > KEPT_BYTES;) kept -= free.shift()!.byteLength;
}
