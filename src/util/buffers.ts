/** Only a buffer that is the whole of its ArrayBuffer may be transferred to a worker (never a pooled slice). */
export function ownsBuffer(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer);
}

/**
 * `b` itself when it owns its memory, else an exact copy that does. Node
 * hands out buffers under 4 KiB as slices of a shared 8 KiB pool, and a
 * message copies a slice's whole ArrayBuffer: every small blob crossing to
 * or from a worker cost 8 KiB of copying and of memory until collected.
 */
export function owned(b: Uint8Array): Uint8Array {
  if (ownsBuffer(b)) return b;
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  return copy;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether every byte of `b` is zero: memcmp against a zero block (GB/s), stopping at the first block that differs. */
export function isAllZero(b: Uint8Array): boolean {
  const v = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  for (let at = 0; at < v.length; at += ZEROS.length) {
    const end = Math.min(at + ZEROS.length, v.length);
    if (v.compare(ZEROS, 0, end - at, at, end) !== 0) return false;
  }
  return true;
}
