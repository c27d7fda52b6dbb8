/**
 * Index files (docs/format.md, "Index"): which blobs live in which pack, at
 * which offset. Binary payload inside an encrypted object of type "index":
 *   u8 version | u32 packCount | packs... | u32 supersededCount | ids[32]...
 *   pack: id[32] | salt[32] | u8 kind | u8 keySource | u32 blobCount | blobs...
 *   blob: u8 type | u8 flags | id[32] | u32 offset | u32 length | u32 rawLength
 * "superseded" lists index files this one replaces (for a later prune); it is
 * always empty in version 1 writers but readers already honour it.
 */
import { Reader, Writer } from './bytes.js';
import { EbakError } from '../../errors.js';
import { checkBlobEntry, KeySource, type BlobEntry } from './pack.js';

export const INDEX_VERSION = 1;

export interface IndexedPack {
  id: Buffer;
  salt: Buffer;
  kind: number;
  keySource: number;
  blobs: BlobEntry[];
}

export interface IndexFile {
  packs: IndexedPack[];
  superseded: Buffer[];
}

export function encodeIndex(idx: IndexFile): Buffer {
  const w = new Writer().u8(INDEX_VERSION).u32(idx.packs.length);
  for (const p of idx.packs) {
    w.bytes(p.id).bytes(p.salt).u8(p.kind).u8(p.keySource).u32(p.blobs.length);
    for (const b of p.blobs) w.u8(b.type).u8(b.flags).bytes(b.id).u32(b.offset).u32(b.length).u32(b.rawLength);
  }
  w.u32(idx.superseded.length);
  for (const s of idx.superseded) w.bytes(s);
  return w.finish();
}

export function decodeIndex(payload: Buffer, what: string): IndexFile {
  const r = new Reader(payload, what);
  if (r.u8() !== INDEX_VERSION) throw new EbakError('UNSUPPORTED_VERSION', `${what}: index version is not supported by this ebak`);
  const packs: IndexedPack[] = [];
  for (let n = r.count(70); n > 0; n--) {
    const p: IndexedPack = { id: Buffer.from(r.bytes(32)), salt: Buffer.from(r.bytes(32)), kind: r.u8(), keySource: r.u8(), blobs: [] };
    if (p.keySource !== KeySource.master) throw new EbakError('UNSUPPORTED_VERSION', `${what}: pack key source ${p.keySource} is not supported by this ebak`);
    if (p.kind > 1) throw r.corrupt(`unknown pack kind ${p.kind}`);
    for (let m = r.count(46); m > 0; m--) {
      const b = { type: r.u8(), flags: r.u8(), id: Buffer.from(r.bytes(32)), offset: r.u32(), length: r.u32(), rawLength: r.u32() };
      checkBlobEntry(b, r);
      p.blobs.push(b);
    }
    packs.push(p);
  }
  const superseded: Buffer[] = [];
  for (let n = r.count(32); n > 0; n--) superseded.push(Buffer.from(r.bytes(32)));
  r.end();
  return { packs, superseded };
}
