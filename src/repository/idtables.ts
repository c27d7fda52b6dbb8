/**
 * The two id-keyed structures the in-memory index (masterindex.ts) is made
 * of, apart from what it records in them: `Run`, an immutable run sorted by
 * id behind a directory of 65,536 buckets that stores only the last 30 bytes
 * of each id; and `Table`, fixed-size keys with u32 values found through an
 * open-addressing table. masterindex.ts's header gives the method and the
 * memory figures; this file holds their byte layout.
 */

const BUCKETS = 1 << 16;
/** Bytes of a sorted entry's id kept in the run: the first two are its bucket. */
const SUFFIX = 30;
/** u32 values per blob (masterindex.ts says which). */
export const WORDS = 4;

const bucketOf = (id: Uint8Array, at = 0): number => (id[at]! << 8) | id[at + 1]!;
/** Blob ids are HMAC outputs (pack ids SHA-256), so their bytes are already uniform: the hash is four of them. */
const hashOf = (id: Uint8Array, at = 0): number => (id[at + 4]! | (id[at + 5]! << 8) | (id[at + 6]! << 16) | (id[at + 7]! << 24)) >>> 0;

/**
 * A 32-byte id, keys[keyAt, keyAt+32), and where its four words are. Valid
 * until the next row is taken (the generators reuse one array).
 */
export type Row = [keys: Buffer, keyAt: number, words: Uint32Array, at: number];

/**
 * One immutable run sorted by id: ids without their first two bytes (the
 * bucket, found through the directory), four words per blob, no spare rows.
 */
export class Run {
  static readonly EMPTY = new Run(0);
  readonly ids: Buffer;
  readonly words: Uint32Array;
  /** Entries of bucket b are rows dir[b] .. dir[b+1]-1. */
  readonly dir = new Uint32Array(BUCKETS + 1);

  private constructor(rows: number) {
    this.ids = Buffer.allocUnsafeSlow(rows * SUFFIX);
    this.words = new Uint32Array(rows * WORDS);
  }

  get count(): number {
    return this.dir[BUCKETS]!;
  }

  get byteLength(): number {
    return this === Run.EMPTY ? 0 : this.ids.length + this.words.byteLength + this.dir.byteLength;
  }

  /** The row holding `id`, or -1. */
  find(id: Uint8Array): number {
    const i = this.lowerBound(id);
    return i < this.dir[bucketOf(id) + 1]! && compareBytes(this.ids, i * SUFFIX, id, 2, SUFFIX) === 0 ? i : -1;
  }

  /** Every entry in id order. */
  *rows(): Generator<Row> {
    const key = Buffer.alloc(32);
    const row: Row = [key, 0, this.words, 0];
    for (let b = 0; b < BUCKETS; b++) {
      key[0] = b >> 8;
      key[1] = b & 255;
      for (let i = this.dir[b]!; i < this.dir[b + 1]!; i++) {
        this.ids.copy(key, 2, i * SUFFIX, (i + 1) * SUFFIX);
        row[3] = i * WORDS;
        yield row;
      }
    }
  }

  /**
   * A new run of this run's entries and `count` others, which `source`
   * gives in id order (none of them in this run): this run is block-copied
   * between their insertion points, so a merge is one pass.
   */
  merged(count: number, source: Iterable<Row>): Run {
    const out = new Run(this.count + count);
    let from = 0;
    let row = 0;
    const copyTo = (to: number) => {
      if (to === from) return;
      this.ids.copy(out.ids, row * SUFFIX, from * SUFFIX, to * SUFFIX);
      out.words.set(this.words.subarray(from * WORDS, to * WORDS), row * WORDS);
      row += to - from;
      from = to;
    };
    for (const [keys, keyAt, words, at] of source) {
      copyTo(this.lowerBound(keys, keyAt));
      keys.copy(out.ids, row * SUFFIX, keyAt + 2, keyAt + 32);
      for (let w = 0; w < WORDS; w++) out.words[row * WORDS + w] = words[at + w]!;
      out.dir[bucketOf(keys, keyAt) + 1]!++;
      row++;
    }
    copyTo(this.count);
    for (let b = 0; b < BUCKETS; b++) out.dir[b + 1] = out.dir[b]! + (this.dir[b + 1]! - this.dir[b]!) + out.dir[b + 1]!;
    return out;
  }

  /** The first row whose id is not below the 32 bytes of `id` from `at`. */
  private lowerBound(id: Uint8Array, at = 0): number {
    const b = bucketOf(id, at);
    let lo = this.dir[b]!;
    let hi = this.dir[b + 1]!;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.ids, mid * SUFFIX, id, at + 2, SUFFIX) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * Rows of a fixed-size key (whose first 32 bytes identify it) and u32
 * values, found through an open-addressing table of row numbers at load
 * 1/4–1/2. Rows grow by half, so at most a third of the rows is spare.
 */
export class Table {
  private keys: Buffer = Buffer.alloc(0);
  values = new Uint32Array(0);
  private slots = new Int32Array(16);
  count = 0;

  constructor(private readonly keyBytes: number, private readonly width: number) {}

  get capacity(): number {
    return this.keys.length / this.keyBytes;
  }

  get byteLength(): number {
    return this.keys.length + this.values.byteLength + this.slots.byteLength;
  }

  keyAt(row: number): Buffer {
    return this.keys.subarray(row * this.keyBytes, (row + 1) * this.keyBytes);
  }

  /** The row whose key starts with the 32 bytes `id`, or -1. */
  find(id: Uint8Array): number {
    const mask = this.slots.length - 1;
    for (let s = hashOf(id) & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      if (compareBytes(this.keys, (v - 1) * this.keyBytes, id, 0, 32) === 0) return v - 1;
    }
  }

  /** Appends a row; returns its number. A key added again is found as its first row (`copies` chains the later ones). */
  add(key: Uint8Array, values: readonly number[]): number {
    if (this.count === this.capacity) this.grow(Math.max(1024, Math.ceil(this.capacity * 1.5)));
    const row = this.count++;
    this.keys.set(key, row * this.keyBytes);
    for (let w = 0; w < this.width; w++) this.values[row * this.width + w] = values[w]!;
    if (this.count * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.insertSlot(row);
    return row;
  }

  /** Every row in the order added. */
  *rows(): Generator<Row> {
    const row: Row = [this.keys, 0, this.values, 0];
    for (let i = 0; i < this.count; i++) {
      row[1] = i * this.keyBytes;
      row[3] = i * this.width;
      yield row;
    }
  }

  /** Every row in ascending order of its 32-byte id. */
  *sortedRows(): Generator<Row> {
    const row: Row = [this.keys, 0, this.values, 0];
    for (const i of sortedOrder(this.keys, this.keyBytes, this.count)) {
      row[1] = i * this.keyBytes;
      row[3] = i * this.width;
      yield row;
    }
  }

  private grow(rows: number): void {
    this.keys = growBuffer(this.keys, rows * this.keyBytes);
    const values = new Uint32Array(rows * this.width);
    values.set(this.values);
    this.values = values;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    for (let i = 0; i < this.count; i++) this.insertSlot(i);
  }

  private insertSlot(row: number): void {
    const mask = this.slots.length - 1;
    let s = hashOf(this.keys, row * this.keyBytes) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = row + 1;
  }
}

/** Buckets holding more rows than this are sorted by a comparison sort, not by insertion. */
const INSERTION_MAX = 32;

/**
 * The row numbers 0..count-1 of `keys` (rows of `keyBytes`, each starting
 * with a 32-byte id) in ascending order of their ids, rows with equal ids in
 * their own order. A counting pass puts them in their buckets (the first two
 * bytes, as a run's directory), then each bucket, of a few rows (ids are
 * uniform), is sorted by insertion: a few comparisons a row, where a
 * comparison sort of all rows made ~log2(count) calls of its callback each,
 * most of what sorting an index's ids cost. A bucket fuller than
 * INSERTION_MAX (ids that are not uniform) is sorted by comparison.
 */
export function sortedOrder(keys: Buffer, keyBytes: number, count: number): Uint32Array {
  const start = new Uint32Array(BUCKETS + 1);
  for (let i = 0; i < count; i++) start[bucketOf(keys, i * keyBytes) + 1]!++;
  for (let b = 0; b < BUCKETS; b++) start[b + 1]! += start[b]!;
  const order = new Uint32Array(count);
  const next = start.slice(0, BUCKETS);
  for (let i = 0; i < count; i++) order[next[bucketOf(keys, i * keyBytes)]!++] = i;
  const below = (a: number, b: number) => compareBytes(keys, a * keyBytes + 2, keys, b * keyBytes + 2, SUFFIX) || a - b;
  for (let b = 0; b < BUCKETS; b++) {
    const lo = start[b]!, hi = start[b + 1]!;
    if (hi - lo > INSERTION_MAX) order.subarray(lo, hi).sort(below);
    else for (let i = lo + 1; i < hi; i++) {
      const x = order[i]!;
      let j = i;
      for (; j > lo && below(order[j - 1]!, x) > 0; j--) order[j] = order[j - 1]!;
      order[j] = x;
    }
  }
  return order;
}

/**
 * Compares a[ai, ai+len) with b[bi, bi+len) (negative, 0, positive). A JS
 * loop: uniform ids differ within the first byte or two, so this returns
 * sooner than a native Buffer.compare call is made.
 */
export function compareBytes(a: Uint8Array, ai: number, b: Uint8Array, bi: number, len: number): number {
  for (let k = 0; k < len; k++) {
    const d = a[ai + k]! - b[bi + k]!;
    if (d !== 0) return d;
  }
  return 0;
}

function growBuffer(b: Buffer, size: number): Buffer {
  const n = Buffer.allocUnsafeSlow(size);
  b.copy(n);
  return n;
}

export function growBytes(a: Uint8Array, size: number): Uint8Array {
  const n = new Uint8Array(size);
  n.set(a);
  return n;
}
