import { EbakError } from '../errors.js';
import { DEFAULT_PARAMS, NORMALIZATION, validateParams, type ChunkerParams } from './params.js';

/** A mask of the `bits` most significant bits of a 32-bit hash, as an int32 (those bits see the widest window). */
function topBits(bits: number): number {
  return (~0 << (32 - bits)) | 0;
}

/**
 * Zero runs (sparse files, disk images, preallocated logs) are skipped a
 * block at a time instead of hashed byte by byte. The gear hash has a fixed
 * point under zero bytes: fp = (fp << 1) + G[0] is unchanged when
 * fp = -G[0] (mod 2^32). Once fp is there, every position of a zero run has
 * that hash, so the run holds a cut only if the fixed point itself passes
 * the mask, which is checked once per table. The cuts are the same as
 * without the skip; only the work differs (a memcmp instead of a hash per byte).
 */
const ZERO_BLOCK = 4096;
const ZEROS = Buffer.alloc(ZERO_BLOCK);

/**
 * FastCDC cut-point search (Xia et al., "The Design of Fast Content-Defined Chunking
 * for Data Deduplication Based Storage Systems", IEEE TPDS 2020, Algorithm 1):
 * gear rolling hash, normalised chunking with two masks, no hashing of the first `min` bytes.
 * Stateless: the same bytes give the same cut whatever the caller's buffering.
 */
export class Cdc {
  readonly params: ChunkerParams;
  private readonly table: Uint32Array;
  private readonly maskS: number;
  private readonly maskL: number;
  /** The gear hash's fixed point under zero bytes, and whether it passes neither mask (so zero runs can be skipped). */
  private readonly zeroFp: number;
  private readonly zeroSkip: readonly [boolean, boolean];

  constructor(table: Uint32Array, params: ChunkerParams = DEFAULT_PARAMS) {
    if (!(table instanceof Uint32Array) || table.length !== 256) throw new EbakError('USAGE', 'gear table must be a Uint32Array of 256 entries (use gearTable(seed))');
    this.params = validateParams(params);
    this.table = Uint32Array.from(table); // a private copy: a caller mutating its table must not move boundaries
    const bits = Math.log2(this.params.avg);
    this.maskS = topBits(bits + NORMALIZATION);
    this.maskL = topBits(bits - NORMALIZATION);
    this.zeroFp = -this.table[0]! | 0;
    this.zeroSkip = [(this.zeroFp & this.maskS) !== 0, (this.zeroFp & this.maskL) !== 0];
  }

  /**
   * Length of the next chunk of data[start, end), i.e. cut offset minus start.
   * `final`: no data follows `end`. Returns -1 when more data is needed to decide,
   * which happens only when !final and fewer than `max` bytes are available.
   * Returns 0 only for an empty final range.
   *
   * `resumeAt` (optional, an optimisation for streaming callers): the `end` of an
   * earlier call with the same `start` that returned -1; positions before it are
   * not checked again. The answer is the same as without it.
   */
  nextCut(data: Uint8Array, start: number, end: number, final: boolean, resumeAt = start): number {
    const { min, avg, max } = this.params;
    const n = end - start;
    if (!(start >= 0 && n >= 0 && end <= data.length)) throw new EbakError('USAGE', `chunker range [${start}, ${end}) is outside the ${data.length}-byte buffer`);
    if (!(resumeAt >= start && resumeAt <= end)) throw new EbakError('USAGE', `chunker resumeAt ${resumeAt} is outside [${start}, ${end}]`);
    if (n <= min) return final ? n : -1;
    const limit = start + (n < max ? n : max);
    const normal = start + avg < limit ? start + avg : limit;
    const from = resumeAt > start + min ? resumeAt : start + min;
    return this.scan(data, start, from, normal, limit, n >= max ? max : final ? n : -1);
  }

  /** The hot loop: first position where the hash has all mask bits zero; the chunk includes that byte. */
  private scan(data: Uint8Array, start: number, from: number, normal: number, limit: number, none: number): number {
    const g = this.table;
    const min = start + this.params.min;
    // The hash at position j depends only on bytes j-31..j (older terms are shifted out of the
    // 32 bits), so resuming at `from` needs only those 31 bytes re-hashed, not the whole prefix.
    let i = from - 31 > min ? from - 31 : min;
    let fp = 0;
    // `| 0` keeps values int32: sums of two int32/uint32 terms are exact in a double, and | 0 reduces mod 2^32.
    for (; i < from; i++) fp = ((fp << 1) + g[data[i]]) | 0;
    const zeroFp = this.zeroFp;
    let retryZerosAt = 0;
    for (let phase = 0; phase < 2; phase++) {
      const stop = phase === 0 ? normal : limit;
      const mask = phase === 0 ? this.maskS : this.maskL;
      const skip = this.zeroSkip[phase]!;
      // Four positions per step. fp(i+1) = 4*fp(i-1) + 2*g[b(i)] + g[b(i+1)]: computing every
      // second hash straight from the one two bytes back halves the serial shift-add chain.
      for (; i + 4 <= stop; i += 4) {
        if (fp === zeroFp && skip && i >= retryZerosAt) {
          const past = zeroRunEnd(data, i, stop);
          if (past > i) {
            i = past - 4; // the loop's step lands on `past`; fp is still the fixed point
            continue;
          }
          retryZerosAt = i + ZERO_BLOCK; // a short run: not worth a memcmp every step
        }
        const a = g[data[i]];
        const b = g[data[i + 1]];
        const c = g[data[i + 2]];
        const d = g[data[i + 3]];
        const f1 = ((fp << 1) + a) | 0;
        const f2 = ((fp << 2) + (((a << 1) + b) | 0)) | 0;
        const f3 = ((f2 << 1) + c) | 0;
        fp = ((f2 << 2) + (((c << 1) + d) | 0)) | 0;
        if ((f1 & mask) === 0 || (f2 & mask) === 0 || (f3 & mask) === 0 || (fp & mask) === 0) {
          return i - start + ((f1 & mask) === 0 ? 1 : (f2 & mask) === 0 ? 2 : (f3 & mask) === 0 ? 3 : 4);
        }
      }
      for (; i < stop; i++) {
        fp = ((fp << 1) + g[data[i]]) | 0;
        if ((fp & mask) === 0) return i + 1 - start;
      }
    }
    return none;
  }
}

/** The end of the whole zero blocks starting at `i` (at most `stop`); `i` when the first block is not all zero. */
function zeroRunEnd(data: Uint8Array, i: number, stop: number): number {
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  while (i + ZERO_BLOCK <= stop && view.compare(ZEROS, 0, ZERO_BLOCK, i, i + ZERO_BLOCK) === 0) i += ZERO_BLOCK;
  return i;
}
