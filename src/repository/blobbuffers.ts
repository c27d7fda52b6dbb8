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
import { NONCE_BYTES, TAG_BYTES } from '../crypto/index.js';

/** A chunk's plaintext starts this far into its buffer (the nonce goes before it). */
export const BLOB_HEAD = NONCE_BYTES;
/** Room left after a chunk's plaintext (the tag goes after the ciphertext). */
export const BLOB_TAIL = TAG_BYTES;

/** Free buffers kept, in bytes of capacity; one given back past this is left to the garbage collector. */
const KEPT_BYTES = 40 * 1024 * 1024;
/** Capacities are rounded up to a quarter of their power of two (at most 25 % unused), from this. */
const MIN_CAPACITY = 64 * 1024;

const free = new Map<number, ArrayBuffer[]>();
let kept = 0;
/** Buffers handed out (or adopted back from a worker) and not transferred or given back since. */
const made = new WeakSet<ArrayBuffer>();

function capacityFor(length: number): number {
  const need = Math.max(MIN_CAPACITY, length + BLOB_HEAD + BLOB_TAIL);
  const step = 2 ** Math.floor(Math.log2(need)) / 4;
  return Math.ceil(need / step) * step;
}

/** A chunk buffer of `length` bytes: a view at BLOB_HEAD into a buffer of its own with BLOB_TAIL bytes to spare (contents undefined). */
export function takeBlobBuffer(length: number): Buffer {
  const capacity = capacityFor(length);
  let buffer = free.get(capacity)?.pop();
  if (buffer) kept -= capacity;
  else buffer = Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
  made.add(buffer);
  return Buffer.from(buffer, BLOB_HEAD, length);
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
  if (!(buffer instanceof ArrayBuffer) || !made.has(buffer) || kept + buffer.byteLength > KEPT_BYTES) return;
  made.delete(buffer); // kept once, even if given back twice
  const list = free.get(buffer.byteLength) ?? free.set(buffer.byteLength, []).get(buffer.byteLength)!;
  list.push(buffer);
  kept += buffer.byteLength;
}
