/** Only a buffer that is the whole of its ArrayBuffer may be transferred to a worker (never a pooled slice). */
export function ownsBuffer(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer);
}
