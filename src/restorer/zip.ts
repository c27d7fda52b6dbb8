/**
 * A snapshot directory as a ZIP archive (restic's `dump --archive zip`),
 * streamed: each entry is written once, in walk order, so memory stays flat
 * whatever the snapshot holds. Files are deflated (node:zlib's raw deflate,
 * RFC 1951); directories end in "/"; symlinks are entries holding their
 * target, marked as links by their Unix mode (as Info-ZIP and Go's
 * archive/zip, and so restic, write them); FIFOs, devices and sockets have
 * no ZIP form and are left out (restic leaves them out too).
 *
 * The layout is PKWARE's APPNOTE.TXT 6.3.10: a local file header (4.3.7)
 * whose CRC and sizes follow the data in a data descriptor (4.3.9, flag bit
 * 3), then the central directory (4.3.12) and its end record (4.3.16).
 * ZIP64 (4.3.14, 4.5.3) is used where a value does not fit: every data
 * descriptor carries 8-byte sizes, announced by a ZIP64 extra field in the
 * local header (4.3.9.1); a size or offset of 4 GiB or more goes in the
 * central directory's ZIP64 extra field; more than 65,534 entries or a
 * directory beyond 4 GiB add the ZIP64 end record and its locator. Names are
 * UTF-8 (flag bit 11, appendix D); a name that is not UTF-8 is written as
 * its bytes without the flag. Times are MS-DOS times in UTC (4.4.6) plus the
 * extended timestamp field 0x5455 (4.5.2, Info-ZIP) with the Unix mtime.
 */
import { isUtf8 } from 'node:buffer';
import type { Writable } from 'node:stream';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
import { targetBytes, type TreeNode } from '../repository/format/tree.js';
import { walk } from '../walker/index.js';
import { writeContents } from './dump.js';
import { bytePaths, type TarSource } from './tar.js';

const LOCAL = 0x04034b50;
const DESCRIPTOR = 0x08074b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;
const FLAG_DESCRIPTOR = 1 << 3;
const FLAG_UTF8 = 1 << 11;
const STORE = 0;
const DEFLATE = 8;
/** 4.4.3: 4.5 for ZIP64 extensions; made by Unix (3) so the external attributes carry the mode. */
const VERSION = 45;
const MADE_BY = (3 << 8) | VERSION;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const S_IFLNK = 0o120000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
/** Files up to this size are deflated in one piece, larger ones streamed. */
const SMALL = 1 << 20;

interface Entry {
  name: Buffer;
  method: number;
  mode: number;
  mtime: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
}

/**
 * Writes the entries below tree `treeId` to `out` as a ZIP, named as the
 * tar's are (the full snapshot path without its leading "/"); `base` is the
 * directory's snapshot path as text ("" for the root) and `baseBytes` as bytes.
 */
export async function writeZip(src: TarSource, treeId: string, base: string, baseBytes: Buffer, out: Writable): Promise<void> {
  const zip = new ZipStream(out);
  const paths = bytePaths(base, baseBytes);
  await walk(src.trees, treeId, {
    node: async (path, n) => {
      const name = paths(path, n).subarray(1);
      if (n.type === 'dir') await zip.add(Buffer.concat([name, Buffer.from('/')]), S_IFDIR | n.mode, n, STORE, async () => undefined);
      else if (n.type === 'symlink') await zip.add(name, S_IFLNK | 0o777, n, STORE, (write) => write(targetBytes(n)));
      else if (n.type === 'file') await zip.add(name, S_IFREG | n.mode, n, DEFLATE, (write) => writeContents(src.blobs, path, n, write));
    },
  }, base);
  await zip.finish();
}

class ZipStream {
  private offset = 0;
  private readonly entries: Entry[] = [];
  private failure: Error | undefined;

  constructor(private readonly out: Writable) {}

  /** One entry: its local header, its data (deflated for DEFLATE) as `data` writes it, and its data descriptor. */
  async add(name: Buffer, mode: number, n: TreeNode, method: number, data: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    const e: Entry = { name, method, mode, mtime: Number(BigInt(n.mtime) / 1_000_000_000n), crc: 0, compressed: 0, size: 0, offset: this.offset };
    await this.write(localHeader(e));
    if (method === STORE) await data((chunk) => this.stored(e, chunk));
    else if ((n.size ?? 0) <= SMALL) await this.deflatedAtOnce(e, data);
    else await this.deflated(e, data);
    await this.write(descriptor(e));
    this.entries.push(e);
  }

  /** The central directory and its end records (ZIP64 ones when a count, size or offset needs them). */
  async finish(): Promise<void> {
    const start = this.offset;
    for (const e of this.entries) await this.write(centralHeader(e));
    const size = this.offset - start;
    const count = this.entries.length;
    if (count >= MAX16 || size >= MAX32 || start >= MAX32) {
      const end64 = this.offset;
      await this.write(end64Record(count, size, start));
      await this.write(u32s(LOCATOR64, 0).concat([u64(end64), u32(1)]));
    }
    await this.write(endRecord(Math.min(count, MAX16), Math.min(size, MAX32), Math.min(start, MAX32)));
    await new Promise<void>((resolve, reject) => this.out.write(Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
  }

  /** A small file in one piece: a deflate stream per file costs more than the file (65,000 small files took twice as long). */
  private async deflatedAtOnce(e: Entry, data: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    const chunks: Buffer[] = [];
    await data(async (chunk) => void chunks.push(chunk));
    const plain = Buffer.concat(chunks);
    const out = deflateRawSync(plain);
    e.crc = crc32(plain);
    e.size = plain.length;
    e.compressed = out.length;
    await this.write(out);
  }

  private async deflated(e: Entry, data: (write: (chunk: Buffer) => Promise<void>) => Promise<void>): Promise<void> {
    const deflate = createDeflateRaw();
    const pending: Promise<void>[] = [];
    deflate.on('data', (out: Buffer) => {
      e.compressed += out.length;
      pending.push(this.write(out));
    });
    const ended = new Promise<void>((resolve, reject) => deflate.once('end', resolve).once('error', reject));
    await data(async (chunk) => {
      e.crc = crc32(chunk, e.crc);
      e.size += chunk.length;
      if (!deflate.write(chunk)) await new Promise<void>((resolve) => deflate.once('drain', resolve));
      await Promise.all(pending.splice(0));
    });
    deflate.end();
    await ended;
    await Promise.all(pending);
  }

  private stored(e: Entry, chunk: Buffer): Promise<void> {
    e.crc = crc32(chunk, e.crc);
    e.size += chunk.length;
    e.compressed += chunk.length;
    return this.write(chunk);
  }

  /** Hands `chunks` on; waits only when the output asks to (backpressure), and fails once the output has. */
  private write(chunks: Buffer | Buffer[]): Promise<void> {
    const b = Array.isArray(chunks) ? Buffer.concat(chunks) : chunks;
    this.offset += b.length;
    this.throwIfFailed();
    if (this.out.write(b, (err) => void (err && (this.failure ??= err)))) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (err?: Error) => {
        this.out.off('drain', done).off('error', done);
        if (err) reject(err);
        else resolve();
      };
      this.out.once('drain', done).once('error', done);
    });
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

// ---- Records (APPNOTE 4.3), little-endian. ----

const u16 = (v: number): Buffer => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };
const u32 = (v: number): Buffer => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b; };
const u64 = (v: number): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; };
const u32s = (...vs: number[]): Buffer[] => vs.map(u32);

const flags = (e: Entry): number => FLAG_DESCRIPTOR | (isUtf8(e.name) ? FLAG_UTF8 : 0);

/** 4.4.6: MS-DOS date and time (two-second steps, from 1980), here in UTC. */
function dosTime(unix: number): [number, number] {
  const d = new Date(Math.max(unix, 315532800) * 1000);
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  return [time, date];
}

/** 4.5.2 / Info-ZIP: the extended timestamp field with the modification time only. */
function extendedTime(e: Entry): Buffer {
  const b = Buffer.alloc(9);
  b.writeUInt16LE(0x5455, 0);
  b.writeUInt16LE(5, 2);
  b.writeUInt8(1, 4);
  b.writeUInt32LE(Math.min(Math.max(e.mtime, 0), MAX32), 5);
  return b;
}

/** 4.3.7 with 4.3.9.1: sizes and CRC in the descriptor; a ZIP64 field (sizes zero) makes its sizes 8 bytes. */
function localHeader(e: Entry): Buffer[] {
  const [time, date] = dosTime(e.mtime);
  const zip64 = Buffer.concat([u16(0x0001), u16(16), u64(0), u64(0)]);
  const extra = Buffer.concat([zip64, extendedTime(e)]);
  return [u32(LOCAL), u16(VERSION), u16(flags(e)), u16(e.method), u16(time), u16(date), u32(0), u32(MAX32), u32(MAX32), u16(e.name.length), u16(extra.length), e.name, extra];
}

/** 4.3.9: the descriptor, with 8-byte sizes (the local header announced ZIP64). */
function descriptor(e: Entry): Buffer[] {
  return [u32(DESCRIPTOR), u32(e.crc), u64(e.compressed), u64(e.size)];
}

/** 4.3.12, with 4.5.3's ZIP64 field for what does not fit in 32 bits (in its fixed order). */
function centralHeader(e: Entry): Buffer[] {
  const [time, date] = dosTime(e.mtime);
  const big = [e.size, e.compressed, e.offset].map((v) => v >= MAX32);
  const fields = [e.size, e.compressed, e.offset].filter((_, i) => big[i]).map(u64);
  const zip64 = fields.length ? Buffer.concat([u16(0x0001), u16(8 * fields.length), ...fields]) : Buffer.alloc(0);
  const extra = Buffer.concat([zip64, extendedTime(e)]);
  const clip = (v: number, i: number) => (big[i] ? MAX32 : v);
  return [
    u32(CENTRAL), u16(MADE_BY), u16(VERSION), u16(flags(e)), u16(e.method), u16(time), u16(date), u32(e.crc),
    u32(clip(e.compressed, 1)), u32(clip(e.size, 0)), u16(e.name.length), u16(extra.length), u16(0), u16(0), u16(0),
    u32(e.mode * 0x10000), u32(clip(e.offset, 2)), e.name, extra,
  ];
}

/** 4.3.14: the ZIP64 end of central directory record (version 1, one disk). */
function end64Record(count: number, size: number, start: number): Buffer[] {
  return [u32(END64), u64(44), u16(MADE_BY), u16(VERSION), u32(0), u32(0), u64(count), u64(count), u64(size), u64(start)];
}

/** 4.3.16: the end of central directory record (0xFFFF / 0xFFFFFFFF where the ZIP64 record holds the value). */
function endRecord(count: number, size: number, start: number): Buffer[] {
  return [u32(END), u16(0), u16(0), u16(count), u16(count), u32(size), u32(start), u16(0)];
}

// ---- CRC-32 (APPNOTE 4.4.7: ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320). ----

const TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** The CRC-32 of `data` continued from `crc` (0 to start). */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
