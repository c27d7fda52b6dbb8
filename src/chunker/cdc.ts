import { EbakError } from '../errors.js';
import { DEFAULT_PARAMS, NORMALIZATION, validateParams, type ChunkerParams } from './params.js';

/** A mask of the `bits` most significant bits of a 32-bit hash, as an int32 (those bits see the widest window). */
function topBits(bits: number): number {
  return (~0 << (32 - bits)) | 0;
}

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

  constructor(table: Uint32Array, params: ChunkerParams = DEFAULT_PARAMS) {
    if (!(table instanceof Uint32Array) || table.length !== 256) throw new EbakError('USAGE', 'gear table must be a Uint32Array of 256 entries (use gearTable(seed))');
    this.params = validateParams(params);
    this.table = table;
    const bits = Math.log2(this.params.avg);
    this.maskS = topBits(bits + NORMALIZATION);
    this.maskL = topBits(bits - NORMALIZATION);
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
    const maskS = this.maskS;
    const maskL = this.maskL;
    // The hash at position j depends only on bytes j-31..j (older terms are shifted out of the
    // 32 bits), so resuming at `from` needs only those 31 bytes re-hashed, not the whole prefix.
    let i = from - 31 > start + this.params.min ? from - 31 : start + this.params.min;
    let fp = 0;
    // `| 0` keeps fp an int32: (fp << 1) + g[b] is exact in a double, and | 0 reduces it mod 2^32.
    for (; i < from; i++) fp = ((fp << 1) + g[data[i]]) | 0;
    for (; i < normal; i++) {
      fp = ((fp << 1) + g[data[i]]) | 0;
      if ((fp & maskS) === 0) return i + 1 - start;
    }
    for (; i < limit; i++) {
      fp = ((fp << 1) + g[data[i]]) | 0;
      if ((fp & maskL) === 0) return i + 1 - start;
    }
    return none;
  }
}
