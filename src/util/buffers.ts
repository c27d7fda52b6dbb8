/** Only a buffer that is the whole of its ArrayBuffer may be transferred to a worker (never a pooled slice). */
export function ownsBuffer(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer);
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
