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
import { BLOB_BYTES, ENTRY } from './format/indexfile.js';
import type { BlobEntry } from './format/pack.js';
import { compareBytes, growBytes, Run, sortedOrder, Table, WORDS, type Row } from './idtables.js';

/** A pack of an index file with its blob entries as the file's bytes (type and flags checked as format version 1's when it was decoded), for addEncodedPacks. */
export interface EncodedPackEntries {
  pack: PackInfo;
  entries: Buffer;
  marked: boolean;
}

export interface PackInfo {
  id: string;
  salt: Buffer;
  kind: number;
  keySource: number;
}

/** Where a blob is: its pack, and its entry in the pack's header (less the id, which is the key). */
export interface BlobLocation extends Omit<BlobEntry, 'id'> {
  pack: PackInfo;
}

/** The tail is merged into `recent` at this many blobs; `recent` into the big run at 1/RECENT_SHARE of it. */
const TAIL_MAX = 8192;
const RECENT_SHARE = 8;
/** Pack numbers share a word with two bits of type and flags. */
const MAX_PACKS = 2 ** 30;

/** The pack number in a blob's first word. */
const packOf = ([words, i]: [Uint32Array, number]): number => Math.floor(words[i]! / 4);

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
    this.lastPack = undefined;
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
    for (const b of blobs) this.place(b.id, [p * 4 + b.type * 2 + b.flags, b.offset, b.length, b.rawLength], marked);
    if (this.tail.count < TAIL_MAX) return;
    this.recent = this.recent.merged(this.tail.count, this.tail.sortedRows());
    this.tail = new Table(32, WORDS);
    if (this.recent.count < Math.max(TAIL_MAX, this.big.count / RECENT_SHARE)) return;
    this.big = this.big.merged(this.recent.count, this.recent.rows());
    this.recent = Run.EMPTY;
  }

  /**
   * addPack for many packs at once (every index file a repository opens
   * with), from their entries' bytes: the blobs are sorted by id in one
   * pass (idtables.ts sortedOrder) and merged into the big run in one, not
   * found, put in the tail and merged twice each, with a BlobEntry object
   * apiece. Which location wins is addPack's rule, except that every mark
   * in `list` is known before any blob is placed (addPack sees a mark when
   * it comes): a live copy always wins over a marked pack, wherever it is
   * listed. A merge copies the big run, so this is for loading, not for a
   * few packs into a large index.
   */
  addEncodedPacks(list: readonly EncodedPackEntries[]): void {
    const fresh = list.flatMap(({ pack, entries, marked }) => {
      const { p, known } = this.addPackRecord(pack);
      if (marked) this.marked.add(p);
      return known ? [] : [{ p, entries, marked }];
    });
    const count = fresh.reduce((n, f) => n + f.entries.length / BLOB_BYTES, 0);
    const keys = Buffer.allocUnsafeSlow(count * 32);
    const words = new Uint32Array(count * WORDS);
    const markedRow = new Uint8Array(count);
    let row = 0;
    for (const { p, entries: e, marked } of fresh) {
      for (let at = 0; at < e.length; at += BLOB_BYTES, row++) {
        e.copy(keys, row * 32, at + ENTRY.id, at + ENTRY.offset);
        const w = row * WORDS;
        words[w] = p * 4 + e[at + ENTRY.type]! * 2 + e[at + ENTRY.flags]!;
        words[w + 1] = e.readUInt32LE(at + ENTRY.offset);
        words[w + 2] = e.readUInt32LE(at + ENTRY.length);
        words[w + 3] = e.readUInt32LE(at + ENTRY.rawLength);
        markedRow[row] = marked ? 1 : 0;
      }
    }
    this.mergeSorted(keys, words, markedRow, sortedOrder(keys, 32, count));
  }

  /**
   * Rows in id order (`order`): the first of each id not in the index yet
   * goes into the big run in one merge; every other row, in the order the
   * rows came, is placed as addPack places a blob already known.
   */
  private mergeSorted(keys: Buffer, words: Uint32Array, markedRow: Uint8Array, order: Uint32Array): void {
    const isNew = new Uint8Array(order.length);
    let news = 0;
    for (let k = 0; k < order.length; k++) {
      const i = order[k]!;
      const repeat = k > 0 && compareBytes(keys, order[k - 1]! * 32, keys, i * 32, 32) === 0;
      if (!repeat && this.find(keys.subarray(i * 32, i * 32 + 32)) === undefined) isNew[i] = 1, news++;
    }
    this.big = this.big.merged(news, this.rowsWhere(keys, words, order, (i) => isNew[i] === 1));
    for (let i = 0; i < order.length; i++) if (!isNew[i]) this.place(keys.subarray(i * 32, i * 32 + 32), Array.from(words.subarray(i * WORDS, (i + 1) * WORDS)), markedRow[i] === 1);
  }

  private *rowsWhere(keys: Buffer, words: Uint32Array, order: Uint32Array, keep: (i: number) => boolean): Generator<Row> {
    const row: Row = [keys, 0, words, 0];
    for (const i of order) {
      if (!keep(i)) continue;
      row[1] = i * 32;
      row[3] = i * WORDS;
      yield row;
    }
  }

  /** A blob's location added: new, a live copy replacing one pending deletion, or another copy. */
  private place(id: Uint8Array, words: number[], marked: boolean): void {
    const at = this.find(id);
    if (at === undefined) this.tail.add(id, words);
    else if (!marked && this.marked.has(packOf(at))) this.addCopy(id, this.replace(at, words)); // a live copy replaces one pending deletion
    else this.addCopy(id, words);
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

  /**
   * The last pack's info, kept: a restore looks its files' blobs up in pack order, and the hex text
   * of the pack id per blob was most of a lookup's cost (one entry: nothing grows with the index).
   */
  private lastPack: { p: number; info: PackInfo } | undefined;

  private packInfo(p: number): PackInfo {
    if (this.lastPack?.p === p) return this.lastPack.info;
    const key = this.packTable.keyAt(p);
    const info = { id: key.toString('hex', 0, 32), salt: key.subarray(32, 64), kind: this.packBytes.kinds[p]!, keySource: this.packBytes.keySources[p]! };
    this.lastPack = { p, info };
    return info;
  }
}
