import { EbakError } from '../errors.js';

/** Chunk-size bounds in bytes (docs/chunker.md, "Parameters"). */
export interface ChunkerParams {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

export const DEFAULT_PARAMS: ChunkerParams = Object.freeze({ min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 });

/** Normalised chunking level: the small-chunk mask has log2(avg)+2 bits, the large one log2(avg)-2. */
export const NORMALIZATION = 2;

/** Bounds that keep both masks inside a 32-bit hash and the working buffer allocatable. */
const AVG_MIN_BITS = 8; // 256 B: the large mask keeps >= 6 bits
const AVG_MAX_BITS = 28; // 256 MiB: the small mask uses <= 30 of the 32 hash bits
const MAX_LIMIT = 1024 * 1024 * 1024;

function usage(field: keyof ChunkerParams, why: string): EbakError {
  return new EbakError('USAGE', `chunker parameter ${field} ${why}`, {
    hint: 'use 1 <= min <= avg <= max <= 1 GiB with avg a power of two between 256 B and 256 MiB',
  });
}

/** Checks chunker parameters and returns a frozen copy; throws EbakError('USAGE') naming the bad field. */
export function validateParams(p: ChunkerParams): ChunkerParams {
  if (typeof p !== 'object' || p === null) throw new EbakError('USAGE', 'chunker parameters must be an object with min, avg and max');
  for (const field of ['min', 'avg', 'max'] as const) {
    const v: unknown = p[field];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw usage(field, `must be a positive integer, got ${String(v)}`);
  }
  const { min, avg, max } = p;
  const bits = Math.log2(avg);
  if (!Number.isInteger(bits)) throw usage('avg', `must be a power of two, got ${avg}`);
  if (bits < AVG_MIN_BITS || bits > AVG_MAX_BITS) throw usage('avg', `must be between 2^${AVG_MIN_BITS} and 2^${AVG_MAX_BITS}, got ${avg}`);
  if (min > avg) throw usage('min', `must not exceed avg (${avg}), got ${min}`);
  if (max < avg) throw usage('max', `must not be below avg (${avg}), got ${max}`);
  if (max > MAX_LIMIT) throw usage('max', `must not exceed ${MAX_LIMIT}, got ${max}`);
  return Object.freeze({ min, avg, max });
}
