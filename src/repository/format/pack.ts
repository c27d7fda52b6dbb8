/**
 * Pack files (docs/format.md, "Pack"): many encrypted blobs in one storage
 * object, with an encrypted header at the end.
 *
 *   prefix:  magic "EBKP" | version u8 | keySource u8 | kind u8 | reserved u8 | salt[32]
 *   blobs:   nonce[12] ‖ ciphertext ‖ tag[16], one after another
 *   header:  nonce[12] ‖ ciphertext ‖ tag[16]   (AAD = "ebak/v1/pack-header" ‖ prefix)
 *   trailer: header length, u32 little-endian
 *
 * keySource says where the per-pack key comes from: 0 = HKDF(packKey, salt,
 * "ebak/v1/pack") from the master key; 1 = a write-only credential's: the
 * salt field holds an HPKE `enc` to the repository's public key and the key
 * is its export "pack" (format/hpke.ts); 0x81…0xFF = the master key of
 * generation 1…127 of a rotated repository (keySourceGeneration). The reader is given the key of a
 * prefix (`PackKeyOf`), so this file stays free of where keys come from.
 * Each blob's AAD binds its type, flags, plaintext length and id, so the
 * storage cannot swap, retype or resize blobs undetected.
 */
import { deriveKey, open, seal, sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import { Reader, Writer } from './bytes.js';

export const PACK_MAGIC = Buffer.from('EBKP');
export const PACK_VERSION = 1;
export const PREFIX_BYTES = 40;
export const BLOB_OVERHEAD = 28;
const HEADER_ENTRY_BYTES = 42;

export const BlobType = { data: 0, tree: 1 } as const;
export type BlobTypeName = keyof typeof BlobType;
export const KeySource = { master: 0, writeOnly: 1 } as const;
/** Key sources 0x81…0xFF: the master key of generation 1…127 (docs/format.md, "Master-key rotation"). */
const GENERATION_BASE = 0x80;

/** The key source of packs sealed under the master key of `generation` (0: the first key, key source 0). */
export function keySourceOf(generation: number): number {
  return generation === 0 ? KeySource.master : GENERATION_BASE + generation;
}

/**
 * Key sources 3…0x7F: a write-only credential of generation 1…125 (2 + g;
 * key source 2 stays unassigned, refused as the vectors always had it).
 */
const WRITE_ONLY_BASE = 2;
export const MAX_WRITE_ONLY_GENERATION = 0x7f - WRITE_ONLY_BASE;

/** The key source of packs (and EBKO v2 objects) a write-only credential of `generation` writes. */
export function writeOnlyKeySource(generation: number): number {
  return generation === 0 ? KeySource.writeOnly : WRITE_ONLY_BASE + generation;
}

/** Which master-key generation a key source belongs to, and whether it is a write-only credential's; undefined for a value this ebak does not know. */
export function keySourceGeneration(keySource: number): { generation: number; writeOnly: boolean } | undefined {
  if (keySource === KeySource.master || keySource === KeySource.writeOnly) return { generation: 0, writeOnly: keySource === KeySource.writeOnly };
  if (keySource > WRITE_ONLY_BASE && keySource < GENERATION_BASE) return { generation: keySource - WRITE_ONLY_BASE, writeOnly: true };
  if (keySource > GENERATION_BASE && keySource <= 0xff) return { generation: keySource - GENERATION_BASE, writeOnly: false };
  return undefined;
}
export const FLAG_ZSTD = 1;

export interface BlobEntry {
  type: number;
  flags: number;
  id: Buffer;
  offset: number;
  /** Stored length: nonce + ciphertext + tag. */
  length: number;
  /** Plaintext length after decompression. */
  rawLength: number;
}

export function packKeyFor(packMasterKey: Uint8Array, salt: Uint8Array): Buffer {
  return deriveKey(packMasterKey, 'pack', salt);
}

export function blobAad(type: number, flags: number, rawLength: number, id: Uint8Array): Buffer {
  const aad = Buffer.alloc(12 + 2 + 4 + 32);
  aad.write('ebak/v1/blob', 0, 'latin1');
  aad[12] = type;
  aad[13] = flags;
  aad.writeUInt32LE(rawLength, 14);
  Buffer.from(id.buffer, id.byteOffset, id.byteLength).copy(aad, 18);
  return aad;
}

export function encodePrefix(kind: number, keySource: number, salt: Uint8Array): Buffer {
  const p = Buffer.alloc(PREFIX_BYTES);
  PACK_MAGIC.copy(p, 0);
  p[4] = PACK_VERSION;
  p[5] = keySource;
  p[6] = kind;
  Buffer.from(salt).copy(p, 8);
  return p;
}

export interface PackPrefix {
  kind: number;
  keySource: number;
  salt: Buffer;
}

export function decodePrefix(p: Buffer, what: string): PackPrefix {
  if (p.length < PREFIX_BYTES || !p.subarray(0, 4).equals(PACK_MAGIC)) throw new EbakError('AUTH_FAILED', `${what}: not an ebak pack (bad magic)`);
  if (p[4] !== PACK_VERSION) throw new EbakError('UNSUPPORTED_VERSION', `${what}: pack version ${p[4]} is not supported`);
  if (!keySourceGeneration(p[5]!)) throw new EbakError('UNSUPPORTED_VERSION', `${what}: pack key source ${p[5]} is not supported`);
  // The prefix is authenticated only later (as the header's AAD): a bad byte here means altered.
  if (p[6]! > 1) throw new EbakError('AUTH_FAILED', `${what}: unknown pack kind ${p[6]} (altered or corrupted)`);
  return { kind: p[6]!, keySource: p[5]!, salt: Buffer.from(p.subarray(8, PREFIX_BYTES)) };
}

const HEADER_AAD_LABEL = Buffer.from('ebak/v1/pack-header');

export function encodeHeader(key: Uint8Array, prefix: Buffer, entries: readonly BlobEntry[]): Buffer {
  const w = new Writer().u8(PACK_VERSION).u32(entries.length);
  for (const e of entries) w.u8(e.type).u8(e.flags).bytes(e.id).u32(e.length).u32(e.rawLength);
  const sealed = seal(key, w.finish(), Buffer.concat([HEADER_AAD_LABEL, prefix]));
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(sealed.length);
  return Buffer.concat([sealed, trailer]);
}

/**
 * The exact size of a pack holding these blobs: prefix, blobs, sealed header
 * (nonce, version, count, one entry per blob, tag) and trailer. Lets `check`
 * spot a truncated or padded pack without downloading it.
 */
export function packSize(blobs: readonly { length: number }[]): number {
  return PREFIX_BYTES + blobs.reduce((sum, b) => sum + b.length, 0) + 12 + 5 + HEADER_ENTRY_BYTES * blobs.length + 16 + 4;
}

/** The per-pack key of a pack with this prefix (key source 1 needs HPKE, so it is async). */
export type PackKeyOf = (prefix: PackPrefix, what: string) => Promise<Buffer>;

/** Parses and authenticates a whole pack's header; checks the blob layout fits the pack exactly. */
export async function decodePack(keyOf: PackKeyOf, pack: Buffer, what: string): Promise<{ prefix: PackPrefix; key: Buffer; entries: BlobEntry[] }> {
  const prefix = decodePrefix(pack, what);
  if (pack.length < PREFIX_BYTES + 4) throw new EbakError('AUTH_FAILED', `${what}: truncated`);
  const headerLen = pack.readUInt32LE(pack.length - 4);
  const headerStart = pack.length - 4 - headerLen;
  if (headerStart < PREFIX_BYTES) throw new EbakError('AUTH_FAILED', `${what}: header length out of range (altered or truncated)`);
  const key = await keyOf(prefix, what);
  const aad = Buffer.concat([HEADER_AAD_LABEL, pack.subarray(0, PREFIX_BYTES)]);
  const r = new Reader(open(key, pack.subarray(headerStart, pack.length - 4), aad, `${what} header`), `${what} header`);
  if (r.u8() !== PACK_VERSION) throw new EbakError('UNSUPPORTED_VERSION', `${what}: pack header version is not supported`);
  const n = r.count(HEADER_ENTRY_BYTES);
  const entries: BlobEntry[] = [];
  let offset = PREFIX_BYTES;
  for (let i = 0; i < n; i++) {
    const e = { type: r.u8(), flags: r.u8(), id: Buffer.from(r.bytes(32)), offset, length: r.u32(), rawLength: r.u32() };
    checkBlobEntry(e, r);
    offset += e.length;
    entries.push(e);
  }
  r.end();
  if (offset !== headerStart) throw new EbakError('CORRUPT', `${what}: blobs do not fill the pack exactly`);
  return { prefix, key, entries };
}

/** Blob types and flags are closed sets in version 1; anything else is refused, not guessed at. */
export function checkBlobEntry(e: { type: number; flags: number }, r: Reader): void {
  if (e.type > BlobType.tree) throw r.corrupt(`unknown blob type ${e.type}`);
  if (e.flags & ~FLAG_ZSTD) throw r.corrupt(`unknown blob flags ${e.flags}`);
}

/** Id of a stored pack (or any object): SHA-256 of its bytes, in hex. */
export function objectId(bytes: Uint8Array): string {
  return sha256(bytes).toString('hex');
}
