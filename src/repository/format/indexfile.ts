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
 */
import { Reader, Writer } from './bytes.js';
import { EbakError } from '../../errors.js';
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

export interface IndexFile {
  packs: IndexedPack[];
  superseded: Buffer[];
  /** Present (possibly empty) in version 3; writers use version 1 when there is none. */
  marked?: MarkedPack[];
}

export function encodeIndex(idx: IndexFile): Buffer {
  const marked = idx.marked ?? [];
  const w = new Writer().u8(marked.length ? INDEX_VERSION_MARKED : INDEX_VERSION).u32(idx.packs.length);
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
  w.bytes(p.id).bytes(p.salt).u8(p.kind).u8(p.keySource).u32(p.blobs.length);
  for (const b of p.blobs) w.u8(b.type).u8(b.flags).bytes(b.id).u32(b.offset).u32(b.length).u32(b.rawLength);
}

export function decodeIndex(payload: Buffer, what: string): IndexFile {
  const r = new Reader(payload, what);
  const version = r.u8();
  if (version !== INDEX_VERSION && version !== INDEX_VERSION_MARKED) throw new EbakError('UNSUPPORTED_VERSION', `${what}: index version is not supported by this ebak`);
  const packs: IndexedPack[] = [];
  for (let n = r.count(70); n > 0; n--) packs.push(readPack(r, what));
  const superseded: Buffer[] = [];
  for (let n = r.count(32); n > 0; n--) superseded.push(Buffer.from(r.bytes(32)));
  if (version === INDEX_VERSION) {
    r.end();
    return { packs, superseded };
  }
  const marked: MarkedPack[] = [];
  for (let n = r.count(74); n > 0; n--) {
    const markedAt = r.u32();
    marked.push({ markedAt, ...readPack(r, what) });
  }
  r.end();
  return { packs, superseded, marked };
}

function readPack(r: Reader, what: string): IndexedPack {
  const p: IndexedPack = { id: Buffer.from(r.bytes(32)), salt: Buffer.from(r.bytes(32)), kind: r.u8(), keySource: r.u8(), blobs: [] };
  if (!keySourceGeneration(p.keySource)) throw new EbakError('UNSUPPORTED_VERSION', `${what}: pack key source ${p.keySource} is not supported by this ebak`);
  if (p.kind > 1) throw r.corrupt(`unknown pack kind ${p.kind}`);
  for (let m = r.count(46); m > 0; m--) {
    const b = { type: r.u8(), flags: r.u8(), id: Buffer.from(r.bytes(32)), offset: r.u32(), length: r.u32(), rawLength: r.u32() };
    checkBlobEntry(b, r);
    p.blobs.push(b);
  }
  return p;
}
