/**
 * The in-memory index of every blob: id → (pack, offset, length, rawLength,
 * type, flags). Stored column-wise in typed arrays with an open-addressing
 * hash table, so memory grows with the number of blobs, not bytes of data:
 * 32 (id) + 4×4 (pack, offset, length, rawLength) + 1 (type/flags) + 8..16
 * (Int32 hash slots, load 0.25–0.5) = 57 bytes per blob just before the
 * arrays double, 114 just after (measured, docs/format.md).
 *
 * A pack prune marked for deletion (docs/format.md, "Deleting data") stays
 * readable (`lookup` finds its blobs) but never counts as a copy a backup
 * may deduplicate against (`has` is false for a blob found only there), and
 * a mark in any index wins over a live listing in another: a backup must
 * re-write such a blob, not lean on a pack that a later prune deletes.
 */
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

export class MasterIndex {
  private ids: Buffer = Buffer.alloc(0);
  private packOf: Uint32Array = new Uint32Array(0);
  private offsets: Uint32Array = new Uint32Array(0);
  private lengths: Uint32Array = new Uint32Array(0);
  private rawLengths: Uint32Array = new Uint32Array(0);
  private typeFlags = new Uint8Array(0);
  private slots = new Int32Array(16);
  private count = 0;
  readonly packs: PackInfo[] = [];
  private packByHex = new Map<string, number>();
  private marked = new Set<number>();

  get size(): number {
    return this.count;
  }

  hasPack(id: string): boolean {
    return this.packByHex.has(id);
  }

  /** Forgets everything (a reload in place: readers and writers holding this index see the new one). */
  clear(): void {
    this.ids = Buffer.alloc(0);
    this.packOf = new Uint32Array(0);
    this.offsets = new Uint32Array(0);
    this.lengths = new Uint32Array(0);
    this.rawLengths = new Uint32Array(0);
    this.typeFlags = new Uint8Array(0);
    this.slots = new Int32Array(16);
    this.count = 0;
    this.packs.length = 0;
    this.packByHex.clear();
    this.marked.clear();
  }

  /** True when the pack is marked for deletion. */
  isMarked(id: string): boolean {
    const p = this.packByHex.get(id);
    return p !== undefined && this.marked.has(p);
  }

  /**
   * Adds a pack and its blobs (`marked`: pending deletion). A blob already
   * known keeps its first location, unless that one is in a marked pack and
   * this one is not. A pack already known is only marked, when `marked`.
   */
  addPack(pack: PackInfo, blobs: readonly BlobEntry[], marked = false): void {
    const known = this.packByHex.get(pack.id);
    if (known !== undefined) {
      if (marked) this.marked.add(known);
      return;
    }
    const p = this.packs.push(pack) - 1;
    this.packByHex.set(pack.id, p);
    if (marked) this.marked.add(p);
    for (const b of blobs) {
      const i = this.find(b.id);
      if (i >= 0 && (marked || !this.marked.has(this.packOf[i]!))) continue;
      this.place(i >= 0 ? i : this.append(b.id), p, b);
    }
  }

  /** True when a blob has a copy in a pack not marked for deletion (what a backup may deduplicate against). */
  has(id: Uint8Array): boolean {
    const i = this.find(id);
    return i >= 0 && !this.marked.has(this.packOf[i]!);
  }

  private append(id: Buffer): number {
    this.ensureCapacity(this.count + 1);
    const i = this.count++;
    id.copy(this.ids, i * 32);
    this.insertSlot(i);
    return i;
  }

  private place(i: number, p: number, b: BlobEntry): void {
    this.packOf[i] = p;
    this.offsets[i] = b.offset;
    this.lengths[i] = b.length;
    this.rawLengths[i] = b.rawLength;
    this.typeFlags[i] = (b.type << 4) | b.flags;
  }

  lookup(id: Uint8Array): BlobLocation | undefined {
    const i = this.find(id);
    if (i < 0) return undefined;
    return {
      pack: this.packs[this.packOf[i]!]!,
      type: this.typeFlags[i]! >> 4,
      flags: this.typeFlags[i]! & 15,
      offset: this.offsets[i]!,
      length: this.lengths[i]!,
      rawLength: this.rawLengths[i]!,
    };
  }

  /** Every blob (for check). */
  *entries(): Generator<{ id: Buffer } & BlobLocation> {
    for (let i = 0; i < this.count; i++) {
      const id = this.ids.subarray(i * 32, i * 32 + 32);
      yield { id, ...this.lookup(id)! };
    }
  }

  private find(id: Uint8Array): number {
    const mask = this.slots.length - 1;
    for (let s = hashOf(id) & mask; ; s = (s + 1) & mask) {
      const v = this.slots[s]!;
      if (v === 0) return -1;
      if (this.idEquals(v - 1, id)) return v - 1;
    }
  }

  private idEquals(i: number, id: Uint8Array): boolean {
    return this.ids.compare(id, 0, 32, i * 32, i * 32 + 32) === 0;
  }

  private insertSlot(i: number): void {
    const mask = this.slots.length - 1;
    let s = this.ids.readUInt32LE(i * 32) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = i + 1;
  }

  private ensureCapacity(n: number): void {
    if (n > this.packOf.length) {
      const cap = Math.max(1024, this.packOf.length * 2);
      this.ids = grow(this.ids, cap * 32);
      this.packOf = growU32(this.packOf, cap);
      this.offsets = growU32(this.offsets, cap);
      this.lengths = growU32(this.lengths, cap);
      this.rawLengths = growU32(this.rawLengths, cap);
      const tf = new Uint8Array(cap);
      tf.set(this.typeFlags);
      this.typeFlags = tf;
    }
    if (n * 2 > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2);
      for (let i = 0; i < this.count; i++) this.insertSlot(i);
    }
  }
}

function hashOf(id: Uint8Array): number {
  // Blob ids are HMAC outputs, so their first bytes are already uniform.
  return (id[0]! | (id[1]! << 8) | (id[2]! << 16) | (id[3]! << 24)) >>> 0;
}

function grow(b: Buffer, size: number): Buffer {
  const n = Buffer.alloc(size);
  b.copy(n);
  return n;
}

function growU32(a: Uint32Array, size: number): Uint32Array {
  const n = new Uint32Array(size);
  n.set(a);
  return n;
}
