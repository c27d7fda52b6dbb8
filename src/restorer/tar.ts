/**
 * A snapshot directory as a tar stream (restic's `dump` of a folder): every
 * entry below it, depth first, named by its full snapshot path without the
 * leading "/" (as restic names them), with its mode (setuid, setgid and
 * sticky bits included), uid, gid and mtime (whole seconds; before 1970 it
 * is written as 1970). Files carry their contents, read blob by blob
 * (src/restorer/dump.ts); symlinks their target; FIFOs and character and
 * block devices their own tar types (restic leaves those out); sockets have
 * no tar type and are left out, as GNU tar does. Hard links are written as
 * plain files, each with its contents (as restic does).
 *
 * tar-stream writes the headers, with PAX records for long and non-ASCII
 * names. A name or link target that is not UTF-8 (names are bytes in tree
 * v2) cannot pass through it, so that entry is preceded by a PAX header of
 * its own carrying the bytes as they are (as Go's archive/tar, and so
 * restic, writes them), which GNU tar and bsdtar take over the placeholder
 * name tar-stream then writes. (The `hdrcharset=BINARY` record POSIX has
 * for this is left out: GNU tar warns that it does not know it.)
 */
import { isUtf8 } from 'node:buffer';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import { EbakError } from '../errors.js';
import type { BlobReader, TreeLoader } from '../repository/api.js';
import { nameBytes, targetBytes, type TreeNode } from '../repository/format/tree.js';
import { walk } from '../walker/index.js';
import { writeContents } from './dump.js';

export interface TarSource {
  readonly trees: TreeLoader;
  readonly blobs: BlobReader;
}

type Sink = ReturnType<Pack['entry']>;

const TYPES: Partial<Record<TreeNode['type'], Header['type']>> = {
  file: 'file', dir: 'directory', symlink: 'symlink', fifo: 'fifo', chardev: 'character-device', blockdev: 'block-device',
};

/**
 * Writes the entries below tree `treeId` to `out` as a tar; `base` is the
 * directory's snapshot path as text ("" for the root) and `baseBytes` as
 * bytes. Resolves once `out` has taken the whole archive.
 */
export async function writeTar(src: TarSource, treeId: string, base: string, baseBytes: Buffer, out: Writable): Promise<void> {
  const pack = tarPack();
  const written = pipeline(pack, out);
  const paths = bytePaths(base, baseBytes);
  try {
    await walk(src.trees, treeId, {
      node: async (path, n) => {
        const full = paths(path, n);
        if (TYPES[n.type] !== undefined) await addEntry(src, pack, full, path, n);
      },
    }, base);
    pack.finalize();
  } catch (e) {
    pack.destroy(e as Error);
    await written.catch(() => undefined);
    throw e;
  }
  await written;
}

/**
 * The walk gives text paths (a non-UTF-8 name shows as U+FFFD); this keeps
 * the bytes of each directory on the way, by depth (a name never holds "/").
 */
export function bytePaths(base: string, baseBytes: Buffer): (path: string, n: TreeNode) => Buffer {
  const baseDepth = depth(base);
  const stack: Buffer[] = [];
  return (path, n) => {
    const level = depth(path) - baseDepth;
    stack.length = level - 1;
    const full = Buffer.concat([stack[level - 2] ?? baseBytes, Buffer.from('/'), nameBytes(n)]);
    stack.push(full);
    return full;
  };
}

const depth = (path: string) => path.split('/').length - 1;

async function addEntry(src: TarSource, pack: Pack, full: Buffer, path: string, n: TreeNode): Promise<void> {
  const name = Buffer.concat([full.subarray(1), Buffer.from(n.type === 'dir' ? '/' : '')]);
  const target = n.type === 'symlink' ? targetBytes(n) : undefined;
  const raw = !isUtf8(name) || (target !== undefined && !isUtf8(target));
  // The bytes go in a PAX header of our own; tar-stream then writes short placeholders that it leaves alone.
  if (raw) pack.push(paxHeader([['path', name], ...(target ? [['linkpath', target] as [string, Buffer]] : [])]));
  const header: Partial<Header> & { name: string } = {
    name: raw ? 'ebak-raw-name' : name.toString('utf8'),
    type: TYPES[n.type], mode: n.mode, uid: n.uid, gid: n.gid, mtime: mtimeOf(n),
    ...(target ? { linkname: raw ? 'ebak-raw-target' : target.toString('utf8') } : {}),
    ...(n.type === 'file' ? { size: n.size ?? 0 } : {}),
    ...(n.rdev !== undefined ? deviceNumbers(BigInt(n.rdev)) : {}),
  };
  await new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    if (n.type !== 'file') return;
    writeContents(src.blobs, path, n, (chunk) => writeTo(sink, chunk)).then(() => sink.end(undefined), (e: unknown) => {
      sink.destroy(e as Error);
      reject(e);
    });
  });
}

/** Resolves when `sink` has taken `chunk` (at once, or after it drains); rejects if it closes first. */
function writeTo(sink: Sink, chunk: Buffer): Promise<void> {
  if (sink.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const drained = () => {
      sink.off('close', closed);
      resolve();
    };
    const closed = () => {
      sink.off('drain', drained);
      reject(new EbakError('IO', 'the archive stream closed before the entry was written'));
    };
    sink.once('drain', drained).once('close', closed);
  });
}

function mtimeOf(n: TreeNode): Date {
  const ms = Number(BigInt(n.mtime) / 1_000_000n);
  return new Date(Math.max(ms, 0));
}

/** Linux's encoding of st_rdev (glibc's gnu_dev_major / gnu_dev_minor). */
function deviceNumbers(rdev: bigint): { devmajor: number; devminor: number } {
  return {
    devmajor: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    devminor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}

// ---- A PAX extended header carrying bytes (POSIX.1-2008, pax, "pax Extended Header"). ----

const BLOCK = 512;

/** A typeflag 'x' header and its records (their values bytes, not necessarily UTF-8), padded to the block size. */
function paxHeader(records: [string, Buffer][]): Buffer {
  const body = Buffer.concat(records.map(([k, v]) => record(k, v)));
  const padding = Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK);
  return Buffer.concat([ustarHeader('PaxHeader/ebak', body.length, 'x'), body, padding]);
}

/** `<length> <key>=<value>\n`, the length counting its own digits. */
function record(key: string, value: Buffer): Buffer {
  const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
  let length = rest + String(rest).length;
  if (String(length).length !== String(rest).length) length = rest + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), value, Buffer.from('\n')]);
}

function ustarHeader(name: string, size: number, typeflag: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'ascii');
  h.write('0000644\0', 100, 'ascii');
  h.write('0000000\0', 108, 'ascii');
  h.write('0000000\0', 116, 'ascii');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  h.write('00000000000\0', 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(typeflag, 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}
