/**
 * A strict CBOR reader for the subset COSE_Sign1 and Nitro documents use, and
 * the interoperable cbor-x encoder (ENVIRONMENT.md).
 *
 * Why not cbor-x's decoder for untrusted bytes: it gives meaning to many tags
 * (records, shared references, tag 27 which calls a global constructor, typed
 * arrays) and accepts non-minimal heads and indefinite lengths. Here only
 * definite-length unsigned/negative integers, byte and text strings, arrays,
 * maps and null are accepted, every head must be minimal (RFC 8949 §4.2.1),
 * map keys must be integers or text and unique, and nothing may follow the
 * top item. Anything else throws CborError; callers map it to their check.
 */
import { Encoder } from 'cbor-x';

export type CborValue = number | bigint | string | Uint8Array | null | CborValue[] | CborMap;
export type CborMap = Map<number | bigint | string, CborValue>;

export class CborError extends Error {}

const MAX_DEPTH = 8;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes exactly one item spanning all of `bytes`. */
export function decodeStrict(bytes: Uint8Array): CborValue {
  const reader = new Reader(bytes);
  const value = reader.item(0);
  if (reader.pos !== bytes.length) throw new CborError(`${bytes.length - reader.pos} bytes after the CBOR item`);
  return value;
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  item(depth: number): CborValue {
    if (depth > MAX_DEPTH) throw new CborError('CBOR nested too deeply');
    const initial = this.take(1)[0]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    if (major === 7) {
      if (info === 22) return null;
      throw new CborError(`CBOR simple value or float 0x${initial.toString(16)} not allowed`);
    }
    if (major === 6) throw new CborError('CBOR tags not allowed');
    const arg = this.argument(info);
    switch (major) {
      case 0:
        return arg;
      case 1:
        return typeof arg === 'bigint' ? -1n - arg : -1 - arg;
      case 2:
        return new Uint8Array(this.take(this.length(arg))); // a copy: callers keep no view of the input
      case 3:
        return this.text(this.length(arg));
      case 4:
        return this.array(this.length(arg), depth);
      default:
        return this.map(this.length(arg), depth);
    }
  }

  /** The head's argument; 8-byte arguments stay bigint so cbor-x re-encodes them the same way. */
  private argument(info: number): number | bigint {
    if (info < 24) return info;
    const view = (n: number) => new DataView(this.buf.buffer, this.buf.byteOffset + this.pos - n, n);
    let value: number | bigint;
    let min: number | bigint;
    switch (info) {
      case 24: this.take(1); value = view(1).getUint8(0); min = 24; break;
      case 25: this.take(2); value = view(2).getUint16(0); min = 0x100; break;
      case 26: this.take(4); value = view(4).getUint32(0); min = 0x10000; break;
      case 27: this.take(8); value = view(8).getBigUint64(0); min = 0x100000000n; break;
      default: throw new CborError(`CBOR additional info ${info} (indefinite or reserved) not allowed`);
    }
    if (value < min) throw new CborError('CBOR head not minimally encoded');
    return value;
  }

  private length(arg: number | bigint): number {
    if (typeof arg === 'bigint' || arg > this.buf.length - this.pos) throw new CborError('CBOR length runs past the end');
    return arg;
  }

  private take(n: number): Uint8Array {
    if (n > this.buf.length - this.pos) throw new CborError('CBOR truncated');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private text(n: number): string {
    try {
      return utf8.decode(this.take(n));
    } catch (e) {
      if (e instanceof CborError) throw e;
      throw new CborError('CBOR text is not valid UTF-8');
    }
  }

  private array(n: number, depth: number): CborValue[] {
    const out: CborValue[] = [];
    for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
    return out;
  }

  private map(n: number, depth: number): CborMap {
    const out: CborMap = new Map();
    for (let i = 0; i < n; i++) {
      const key = this.item(depth + 1);
      if (typeof key !== 'number' && typeof key !== 'bigint' && typeof key !== 'string') {
        throw new CborError('CBOR map key must be an integer or text');
      }
      if (out.has(key)) throw new CborError('CBOR map has a duplicate key');
      out.set(key, this.item(depth + 1));
    }
    return out;
  }
}

/** cbor-x settings that write plain RFC 8949 maps with minimal headers (ENVIRONMENT.md). */
const encoder = new Encoder({ useRecords: false, mapsAsObjects: false, variableMapSize: true, tagUint8Array: false });

/** Copies the result: cbor-x may hand back a view of a buffer it reuses. */
export function encode(value: unknown): Uint8Array {
  return new Uint8Array(encoder.encode(value));
}
