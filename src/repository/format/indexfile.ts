/**
 * Index files (docs/format.md, "Index"): which blobs live in which pack, at
 * which offset. Binary payload inside an encrypted object of type "index":
 *   u8 version | u32 packCount | packs... | u32 supersededCount | ids[32]...
 *   pack: id[32] | salt[32] | u8 kind | u8 keySource | u32 blobCount | blobs...
 *   blob: u8 type | u8 flags | id[32] | u32 offset | u32 length | u32 rawLength
 * "superseded" lists index files this one replaces (prune's rewrite): a
 * reader ignores every index file another readable one supersedes.
 * Version 3 (written by prune only when it marks packs; docs/format.md,
 * "Deleting data") appends the packs pending deletion:
 *   ... | u32 markedCount | marked...   marked: u32 markedAt (Unix seconds) | pack
 * Version 2 was reserved for write-only devices and is refused: key source 1
 * needed no index change (a pack's salt field holds its HPKE enc).
 * decodeIndexEncoded reads the same bytes into EncodedPacks, which keep each
 * pack's blob entries as those bytes (prune holds every index file through
 * its plan: one object per blob would be ~200 MiB of heap a million blobs).
 */
import { Reader, Writer } from './bytes.js';
import { EbakError } from '../../errors.js';
import { copyWith } from '../../util/objects.js';
import { checkBlobEntry, keySourceGeneration, type BlobEntry } from './pack.js';

export const INDEX_VERSION = 1;
/** The version that carries packs pending deletion. */
export const INDEX_VERSION_MARKED = 3;

export interface IndexedPack {
  id: Buffer;
  salt: Buffer;
  kind: number;
  keySource: number;
  blobs: BlobEntry[];
}

/** A pack prune marked for deletion at `markedAt` (Unix seconds): still readable, never deduplicated against. */
export interface MarkedPack extends IndexedPack {
  markedAt: number;
}

export interface IndexFile<P extends IndexedPack = IndexedPack> {
  packs: P[];
  superseded: Buffer[];
  /** Present (possibly empty) in version 3; writers use version 1 when there is none. */
  marked?: (P & { markedAt: number })[];
}

/** Bytes of a blob's entry, and of a pack's record before its entries. */
export const BLOB_BYTES = 46;
const PACK_BYTES = 70;
/** Where a blob entry's fields start in its bytes: type and flags u8, the id 32 bytes, then offset, length, rawLength u32 LE. */
export const ENTRY = { type: 0, flags: 1, id: 2, offset: 34, length: 38, rawLength: 42 } as const;

/**
 * A pack's index record whose blob entries stay as the index file's bytes
 * (already checked when the file was decoded): `blobs` decodes them anew
 * on every read, into objects that die young, and encodeIndex copies
 * `entries` as they are. Their ids view `entries`: one that goes to a
 * worker is copied first (util/buffers.ts `owned`), or the message copies
 * the whole index file.
 */
export class EncodedPack implements IndexedPack {
  constructor(readonly id: Buffer, readonly salt: Buffer, readonly kind: number, readonly keySource: number, readonly entries: Buffer) {}

  get blobCount(): number {
    return this.entries.length / BLOB_BYTES;
  }

  get blobs(): BlobEntry[] {
    return decodeEntries(this.entries);
  }
}

/** Entries in the index file's layout as objects (their ids view `e`). */
export function decodeEntries(e: Buffer): BlobEntry[] {
  const out = new Array<BlobEntry>(e.length / BLOB_BYTES);
  for (let i = 0, at = 0; i < out.length; i++, at += BLOB_BYTES)
    out[i] = { type: e[at + ENTRY.type]!, flags: e[at + ENTRY.flags]!, id: e.subarray(at + ENTRY.id, at + ENTRY.offset), offset: e.readUInt32LE(at + ENTRY.offset), length: e.readUInt32LE(at + ENTRY.length), rawLength: e.readUInt32LE(at + ENTRY.rawLength) };
  return out;
}

/**
 * A pack's blob entries as they are appended, in the index file's layout
 * (46 bytes a blob): the packer holds ~15,000 of them per open pack of small
 * files and up to 16,384 more until they are indexed, and an object per blob
 * (an entry, its id's Buffer and ArrayBuffer, ~300 bytes) was most of what a
 * backup's heap grew by with the number of files.
 */
export class EntryBuilder {
  private buf = Buffer.allocUnsafeSlow(64 * BLOB_BYTES);
  private n = 0;

  get count(): number {
    return this.n;
  }

  push(type: number, flags: number, id: Uint8Array, offset: number, length: number, rawLength: number): void {
    if ((this.n + 1) * BLOB_BYTES > this.buf.length) this.grow();
    const b = this.buf, at = this.n++ * BLOB_BYTES;
    b[at] = type;
    b[at + 1] = flags;
    b.set(id, at + 2);
    b.writeUInt32LE(offset, at + 34);
    b.writeUInt32LE(length, at + 38);
    b.writeUInt32LE(rawLength, at + 42);
  }

  /** The entries so far, in a buffer of their exact size (an EncodedPack's `entries`). */
  bytes(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.n * BLOB_BYTES));
  }

  private grow(): void {
    const next = Buffer.allocUnsafeSlow(this.buf.length * 2);
    this.buf.copy(next);
    this.buf = next;
  }
}

const blobCount = (p: IndexedPack) => (p instanceof EncodedPack ? p.blobCount : p.blobs.length);

/** The encoded size, so the writer allocates it once (a prune's index file lists every blob). */
function encodedBytes(idx: IndexFile): number {
  const packs = (list: readonly IndexedPack[], extra: number) => list.reduce((n, p) => n + extra + PACK_BYTES + BLOB_BYTES * blobCount(p), 0);
  const marked = idx.marked?.length ? 4 + packs(idx.marked, 4) : 0;
  return 1 + 4 + packs(idx.packs, 0) + 4 + 32 * idx.superseded.length + marked;
}

export function encodeIndex(idx: IndexFile): Buffer {
  const marked = idx.marked ?? [];
  const w = new Writer(encodedBytes(idx)).u8(marked.length ? INDEX_VERSION_MARKED : INDEX_VERSION).u32(idx.packs.length);
  for (const p of idx.packs) writePack(w, p);
  w.u32(idx.superseded.length);
  for (const s of idx.superseded) w.bytes(s);
  if (marked.length) {
    w.u32(marked.length);
    for (const p of marked) writePack(w.u32(p.markedAt), p);
  }
  return w.finish();
}

function writePack(w: Writer, p: IndexedPack): void {
  w.bytes(p.id).bytes(p.salt).u8(p.kind).u8(p.keySource).u32(blobCount(p));
  if (p instanceof EncodedPack) {
    w.bytes(p.entries);
    return;
  }
  for (const b of p.blobs) w.u8(b.type).u8(b.flags).bytes(b.id).u32(b.offset).u32(b.length).u32(b.rawLength);
}

export function decodeIndex(payload: Buffer, what: string): IndexFile {
  return decodeWith(payload, what, readPack);
}

/** decodeIndex, its packs EncodedPacks over `payload` (which they keep). */
export function decodeIndexEncoded(payload: Buffer, what: string): IndexFile<EncodedPack> {
  return decodeWith(payload, what, readEncodedPack);
}

function decodeWith<P extends IndexedPack>(payload: Buffer, what: string, readPack: (r: Reader, what: string) => P): IndexFile<P> {
  const r = new Reader(payload, what);
  const version = r.u8();
  if (version !== INDEX_VERSION && version !== INDEX_VERSION_MARKED) throw new EbakError('UNSUPPORTED_VERSION', `${what}: index version is not supported by this ebak`);
  const packs: P[] = [];
  for (let n = r.count(PACK_BYTES); n > 0; n--) packs.push(readPack(r, what));
  const superseded: Buffer[] = [];
  for (let n = r.count(32); n > 0; n--) superseded.push(Buffer.from(r.bytes(32)));
  if (version === INDEX_VERSION) {
    r.end();
    return { packs, superseded };
  }
  const marked: (P & { markedAt: number })[] = [];
  for (let n = r.count(PACK_BYTES + 4); n > 0; n--) {
    const markedAt = r.u32();
    marked.push(copyWith(readPack(r, what), { markedAt }));
  }
  r.end();
  return { packs, superseded, marked };
}

/** A pack record's fields before its blobs, checked. */
function readPackHead(r: Reader, what: string): Omit<IndexedPack, 'blobs'> {
  const p = { id: Buffer.from(r.bytes(32)), salt: Buffer.from(r.bytes(32)), kind: r.u8(), keySource: r.u8() };
  if (!keySourceGeneration(p.keySource)) throw new EbakError('UNSUPPORTED_VERSION', `${what}: pack key source ${p.keySource} is not supported by this ebak`);
  if (p.kind > 1) throw r.corrupt(`unknown pack kind ${p.kind}`);
  return p;
}

function readEncodedPack(r: Reader, what: string): EncodedPack {
  const { id, salt, kind, keySource } = readPackHead(r, what);
  const entries = r.bytes(r.count(BLOB_BYTES) * BLOB_BYTES);
  for (let at = 0; at < entries.length; at += BLOB_BYTES) checkBlobEntry({ type: entries[at]!, flags: entries[at + 1]! }, r);
  return new EncodedPack(id, salt, kind, keySource, entries);
}

function readPack(r: Reader, what: string): IndexedPack {
  const p: IndexedPack = { ...readPackHead(r, what), blobs: [] };
  for (let m = r.count(BLOB_BYTES); m > 0; m--) {
    const b = { type: r.u8(), flags: r.u8(), id: Buffer.from(r.bytes(32)), offset: r.u32(), length: r.u32(), rawLength: r.u32() };
    checkBlobEntry(b, r);
    p.blobs.push(b);
  }
  return p;
}
