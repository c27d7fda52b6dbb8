/**
 * The in-memory index of every blob: id → (pack, offset, length, rawLength,
 * type, flags). Stored column-wise in typed arrays with an open-addressing
 * hash table, so memory grows with the number of blobs, not bytes of data:
 * 32 (id) + 4×4 (pack, offset, length, rawLength) + 1 (type/flags) + 8..16
 * (Int32 hash slots, load 0.25–0.5) = 57 bytes per blob just before the
 * arrays double, 114 just after (measured, docs/format.md).
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

  get size(): number {
    return this.count;
  }

  hasPack(id: string): boolean {
    return this.packByHex.has(id);
  }

  /** Adds a pack and its blobs. A blob already known (in another pack) keeps its first location. */
  addPack(pack: PackInfo, blobs: readonly BlobEntry[]): void {
    if (this.packByHex.has(pack.id)) return;
    const p = this.packs.push(pack) - 1;
    this.packByHex.set(pack.id, p);
    for (const b of blobs) {
      if (this.find(b.id) >= 0) continue;
      this.ensureCapacity(this.count + 1);
      const i = this.count++;
      b.id.copy(this.ids, i * 32);
      this.packOf[i] = p;
      this.offsets[i] = b.offset;
      this.lengths[i] = b.length;
      this.rawLengths[i] = b.rawLength;
      this.typeFlags[i] = (b.type << 4) | b.flags;
      this.insertSlot(i);
    }
  }

  has(id: Uint8Array): boolean {
    return this.find(id) >= 0;
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
