/**
 * zstd compression for blobs and objects, through zstd-napi's native binding
 * (one context per thread, reused). Decompression always writes into a buffer
 * of a size the caller already trusts (from an authenticated header), so a
 * crafted frame cannot make the client allocate more than that.
 */
import { createRequire } from 'node:module';
import type * as Binding from 'zstd-napi/binding.js';

// The binding is CommonJS without named ESM exports.
const { CCtx, DCtx, getFrameContentSize } = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof Binding;
import { EbakError } from '../errors.js';

let cctx: Binding.CCtx | undefined;
/** Reused output buffer: one per thread, grown to the largest blob seen. */
let scratch = Buffer.alloc(0);
let dctx: Binding.DCtx | undefined;

/**
 * Compressed bytes, or undefined when compression does not shrink the input
 * (or `level` is 0: --compression off).
 * The result is a view into a per-thread buffer that the next call reuses:
 * consume it (seal, copy) before calling again.
 */
export function compressIfSmaller(data: Uint8Array, level: number): Buffer | undefined {
  if (data.length < 64 || level <= 0) return undefined;
  cctx ??= new CCtx();
  if (scratch.length < data.length) scratch = Buffer.allocUnsafeSlow(data.length);
  const dst = scratch.subarray(0, data.length - 1);
  try {
    const n = cctx.compress(dst, data, level);
    return dst.subarray(0, n);
  } catch {
    return undefined; // "destination buffer too small": incompressible
  }
}

/** Reused decompression output (decompressTransient): one per thread, grown to the largest blob seen. */
let plainScratch = Buffer.alloc(0);

/** Decompresses a frame that must expand to exactly `size` bytes. */
export function decompressExact(frame: Uint8Array, size: number, what: string): Buffer {
  return decompressInto(Buffer.allocUnsafe(size), frame, size, what);
}

/**
 * As decompressExact, into a per-thread buffer that the next call reuses
 * (a view of it is returned): for a caller that consumes the plaintext at
 * once, as the restore's writes in a worker do. A fresh buffer per blob cost
 * the kernel a page fault and a zeroed page for every 4 KiB of every large
 * blob: ~15 % of zstd's time at 1 MiB blobs.
 */
export function decompressTransient(frame: Uint8Array, size: number, what: string): Buffer {
  if (plainScratch.length < size) plainScratch = Buffer.allocUnsafeSlow(size);
  return decompressInto(plainScratch.subarray(0, size), frame, size, what);
}

function decompressInto(dst: Buffer, frame: Uint8Array, size: number, what: string): Buffer {
  dctx ??= new DCtx();
  let n: number;
  try {
    n = dctx.decompress(dst, frame);
  } catch {
    throw new EbakError('CORRUPT', `${what}: compressed data is invalid or larger than recorded`);
  }
  if (n !== size) throw new EbakError('CORRUPT', `${what}: decompressed to ${n} bytes, expected ${size}`);
  return dst;
}

/** Decompresses a frame whose header states its size, refusing anything above `max`. */
export function decompressBounded(frame: Uint8Array, max: number, what: string): Buffer {
  let size: number | null;
  try {
    size = getFrameContentSize(frame);
  } catch {
    size = null;
  }
  if (size === null || size > max) throw new EbakError('CORRUPT', `${what}: compressed frame has no or an oversized content size`);
  return decompressExact(frame, size, what);
}
