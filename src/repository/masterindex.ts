/**
 * The in-memory index of every blob: id → (pack, offset, length, rawLength,
 * type, flags), in at most 48 bytes per blob (rustic's figure), plus the
 * pack records. Memory grows with the number of blobs, never with bytes of
 * data, and has no doubling step: docs/format.md, "Memory cost of the
 * in-memory index", gives the figures.
 *
 * Method. Almost every blob sits in one run sorted by id, with a directory
 * of 65,536 buckets (the id's first two bytes): a bucket's entries are
 * found by the directory, then by binary search, so the run stores only the
 * other 30 bytes of each id. The fields are four u32 words per blob:
 * pack number × 4 + type × 2 + compressed (type and flags are closed sets of
 * one bit each in format version 1), offset, length, rawLength. That is
 * 30 + 16 = 46 bytes per blob, exactly sized (no spare capacity), and
 * 256 KiB of directory per run. The newest blobs sit in a small unsorted
 * tail (full ids, an open-addressing table); every 8,192 blobs the tail is
 * sorted and merged into a second run, `recent`, and `recent` into the big
 * run once it holds 1/8 as many: a merge block-copies the old run between
 * the insertion points (one pass) into a new exact-size run. During a merge
 * the old and the new run exist together (transiently twice the run), and
 * the C allocator may keep the freed run's pages (docs/benchmarks.md).
 *
 * A pack prune marked for deletion (docs/format.md, "Deleting data") stays
 * readable (`lookup` finds its blobs) but never counts as a copy a backup
 * may deduplicate against (`has` is false for a blob found only there), and
 * a mark in any index wins over a live listing in another: a backup must
 * re-write such a blob, not lean on a pack that a later prune deletes.
 *
 * A blob stored more than once (two backups racing, a write-only
 * credential that cannot see the full key's index) keeps its other
 * locations in a side table (`copies`: an open-addressing table as the
 * tail's, a fifth word chaining a third copy and more), so a reader that
 * finds one copy damaged reads another: one damaged pack never blocks a
 * blob stored intact elsewhere. About 60 bytes per extra copy.
 *
 * Packs are columns too: id 32 + salt 32 + kind 1 + key source 1 bytes per
 * pack and a table of pack numbers, 70–100 bytes per pack; `PackInfo`
 * records are made when asked for.
 */
import { EbakError } from '../errors.js';
import type { BlobEntry } from './format/pack.js';

export interface PackInfo {
  id: string;
  salt: Buffer;
  kind: number;
  keySource: number;
}

export interface BlobLocation {
  pack: PackInfo;
  type: number;
  flags: number;
  offset: number;
  length: number;
  rawLength: number;
}

const BUCKETS = 1 << 16;
/** Bytes of a sorted entry's id kept in the run: the first two are its bucket. */
const SUFFIX = 30;
const WORDS = 4;
/** The tail is merged into `recent` at this many blobs; `recent` into the big run at 1/RECENT_SHARE of it. */
const TAIL_MAX = 8192;
const RECENT_SHARE = 8;
/** Pack numbers share a word with two bits of type and flags. */
const MAX_PACKS = 2 ** 30;

/** The pack number in a blob's first word. */
const packOf = ([words, i]: [Uint32Array, number]): number => Math.floor(words[i]! / 4);

const bucketOf = (id: Uint8Array, at = 0): number => (id[at]! << 8) | id[at + 1]!;
/** Blob ids are HMAC outputs (pack ids SHA-256), so their bytes are already uniform: the hash is four of them. */
const hashOf = (id: Uint8Array, at = 0): number => (id[at + 4]! | (id[at + 5]! << 8) | (id[at + 6]! << 16) | (id[at + 7]! << 24)) >>> 0;

export class MasterIndex {
  /** Almost every blob, in one sorted run; `recent` holds those of the last merges, `tail` the newest. */
  private big = Run.EMPTY;
  private recent = Run.EMPTY;
  private tail = new Table(32, WORDS);
  private packTable = new Table(64, 0);
  private packBytes: { kinds: Uint8Array; keySources: Uint8Array } = { kinds: new Uint8Array(0), keySources: new Uint8Array(0) };
  /** Pack numbers marked for deletion by prune. */
  private readonly marked = new Set<number>();
  /** Locations other than the one the runs hold: the four words, then 1 + the row of the next copy (0: none). */
  private others = new Table(32, WORDS + 1);

  /** Forgets everything (a reload in place: readers and writers holding this index see the new one). */
  clear(): void {
    this.big = Run.EMPTY;
    this.recent = Run.EMPTY;
    this.tail = new Table(32, WORDS);
    this.packTable = new Table(64, 0);
    this.packBytes = { kinds: new Uint8Array(0), keySources: new Uint8Array(0) };
    this.marked.clear();
    this.others = new Table(32, WORDS + 1);
  }

  /** True when the pack is marked for deletion. */
  isMarked(id: string): boolean {
    const p = this.packTable.find(Buffer.from(id, 'hex'));
    return p >= 0 && this.marked.has(p);
  }

  get size(): number {
    return this.big.count + this.recent.count + this.tail.count;
  }

  /** Bytes held by the index (blobs and packs), the figure docs/format.md states. */
  get byteLength(): number {
    const packs = this.packTable.byteLength + this.packBytes.kinds.length * 2;
    return this.big.byteLength + this.recent.byteLength + this.tail.byteLength + this.others.byteLength + packs;
  }

  /** Every pack, made on demand (for check). */
  get packs(): PackInfo[] {
    return Array.from({ length: this.packTable.count }, (_, p) => this.packInfo(p));
  }

  hasPack(id: string): boolean {
    return this.packTable.find(Buffer.from(id, 'hex')) >= 0;
  }

  /**
   * Adds a pack and its blobs (`marked`: pending deletion). A blob already
   * known (in another pack, or earlier in this one) keeps its first
   * location, unless that one is in a marked pack and this one is not. A
   * pack already known is only marked, when `marked`.
   */
  addPack(pack: PackInfo, blobs: readonly BlobEntry[], marked = false): void {
    const bad = blobs.find((b) => b.type > 1 || b.flags > 1);
    if (bad) throw new EbakError('CORRUPT', `blob ${bad.id.toString('hex')}: type ${bad.type} or flags ${bad.flags} outside format version 1`);
    const { p, known } = this.addPackRecord(pack);
    if (marked) this.marked.add(p);
    if (known) return;
    for (const b of blobs) {
      const words = [p * 4 + b.type * 2 + b.flags, b.offset, b.length, b.rawLength];
      const at = this.find(b.id);
      if (at === undefined) this.tail.add(b.id, words);
      else if (!marked && this.marked.has(packOf(at))) this.addCopy(b.id, this.replace(at, words)); // a live copy replaces one pending deletion
      else this.addCopy(b.id, words);
    }
    if (this.tail.count < TAIL_MAX) return;
    this.recent = this.recent.merged(this.tail.count, this.tail.sortedRows());
    this.tail = new Table(32, WORDS);
    if (this.recent.count < Math.max(TAIL_MAX, this.big.count / RECENT_SHARE)) return;
    this.big = this.big.merged(this.recent.count, this.recent.rows());
    this.recent = Run.EMPTY;
  }

  /** True when a blob has a copy in a pack not marked for deletion (what a backup may deduplicate against). */
  has(id: Uint8Array): boolean {
    const at = this.find(id);
    return at !== undefined && !this.marked.has(packOf(at));
  }

  lookup(id: Uint8Array): BlobLocation | undefined {
    const at = this.find(id);
    return at === undefined ? undefined : this.location(at[0], at[1]);
  }

  /** The blob's locations other than `lookup`'s (none for almost every blob). */
  copies(id: Uint8Array): BlobLocation[] {
    const out: BlobLocation[] = [];
    for (let row = this.others.find(id); row >= 0; row = this.others.values[row * (WORDS + 1) + WORDS]! - 1) out.push(this.location(this.others.values, row * (WORDS + 1)));
    return out;
  }

  private location(words: ArrayLike<number>, i: number): BlobLocation {
    const w0 = words[i]!;
    return { pack: this.packInfo(Math.floor(w0 / 4)), type: (w0 >> 1) & 1, flags: w0 & 1, offset: words[i + 1]!, length: words[i + 2]!, rawLength: words[i + 3]! };
  }

  private addCopy(id: Uint8Array, words: number[]): void {
    let last = this.others.find(id);
    const row = this.others.add(id, [...words, 0]);
    if (last < 0) return;
    const link = (r: number) => r * (WORDS + 1) + WORDS;
    while (this.others.values[link(last)]! > 0) last = this.others.values[link(last)]! - 1;
    this.others.values[link(last)] = row + 1;
  }

  /** Puts `words` where `at` points; returns the words it replaced. */
  private replace([array, i]: [Uint32Array, number], words: number[]): number[] {
    const old = Array.from(array.subarray(i, i + WORDS));
    array.set(words, i);
    return old;
  }

  /** Every blob (for check): each run in id order, then the tail. */
  *entries(): Generator<{ id: Buffer } & BlobLocation> {
    for (const rows of [this.big.rows(), this.recent.rows(), this.tail.rows()]) {
      for (const [keys, keyAt] of rows) {
        const id = Buffer.from(keys.subarray(keyAt, keyAt + 32));
        yield { id, ...this.lookup(id)! };
      }
    }
  }

  /** Where the blob's words are: [array, index of its first word], or undefined. */
  private find(id: Uint8Array): [Uint32Array, number] | undefined {
    for (const run of [this.big, this.recent]) {
      const i = run.find(id);
      if (i >= 0) return [run.words, i * WORDS];
    }
    const t = this.tail.find(id);
    return t < 0 ? undefined : [this.tail.values, t * WORDS];
  }

  /** The pack's number, and whether it was indexed already. */
  private addPackRecord(pack: PackInfo): { p: number; known: boolean } {
    const key = Buffer.concat([Buffer.from(pack.id, 'hex'), pack.salt]);
    if (key.length !== 64) throw new EbakError('CORRUPT', `pack ${pack.id}: id and salt must be 32 bytes each`);
    const known = this.packTable.find(key.subarray(0, 32));
    if (known >= 0) return { p: known, known: true };
    if (this.packTable.count >= MAX_PACKS) throw new EbakError('CORRUPT', `more than ${MAX_PACKS} packs`);
    const p = this.packTable.add(key, []);
    const cap = this.packTable.capacity;
    if (this.packBytes.kinds.length < cap) {
      this.packBytes.kinds = growBytes(this.packBytes.kinds, cap);
      this.packBytes.keySources = growBytes(this.packBytes.keySources, cap);
    }
    this.packBytes.kinds[p] = pack.kind;
    this.packBytes.keySources[p] = pack.keySource;
    return { p, known: false };
  }

  private packInfo(p: number): PackInfo {
    const key = this.packTable.keyAt(p);
    return { id: key.toString('hex', 0, 32), salt: key.subarray(32, 64), kind: this.packBytes.kinds[p]!, keySource: this.packBytes.keySources[p]! };
  }
}

/**
 * A 32-byte id, keys[keyAt, keyAt+32), and where its four words are. Valid
 * until the next row is taken (the generators reuse one array).
 */
type Row = [keys: Buffer, keyAt: number, words: Uint32Array, at: number];

/**
 * One immutable run sorted by id: ids without their first two bytes (the
 * bucket, found through the directory), four words per blob, no spare rows.
 */
class Run {
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
class Table {
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
    const order = new Uint32Array(this.count);
    const lead = new Float64Array(this.count);
    for (let i = 0; i < this.count; i++) {
      order[i] = i;
      lead[i] = this.keys.readUInt32BE(i * this.keyBytes);
    }
    order.sort((a, b) => lead[a]! - lead[b]! || compareBytes(this.keys, a * this.keyBytes, this.keys, b * this.keyBytes, 32));
    const row: Row = [this.keys, 0, this.values, 0];
    for (const i of order) {
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

/**
 * Compares a[ai, ai+len) with b[bi, bi+len) (negative, 0, positive). A JS
 * loop: uniform ids differ within the first byte or two, so this returns
 * sooner than a native Buffer.compare call is made.
 */
function compareBytes(a: Uint8Array, ai: number, b: Uint8Array, bi: number, len: number): number {
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

function growBytes(a: Uint8Array, size: number): Uint8Array {
  const n = new Uint8Array(size);
  n.set(a);
  return n;
}
