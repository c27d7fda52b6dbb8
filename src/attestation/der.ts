/**
 * A small, strict DER writer for the X.509 structures the development CA
 * issues (ITU-T X.690 §10: definite, minimal lengths; minimal INTEGERs; SET OF
 * sorted), and a reader just large enough to find extensions in a
 * certificate that node:crypto has already parsed.
 */
const TAG = {
  BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06,
  UTF8: 0x0c, IA5: 0x16, PRINTABLE: 0x13, UTC_TIME: 0x17, GENERALIZED_TIME: 0x18, SEQUENCE: 0x30, SET: 0x31,
} as const;

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  return Buffer.concat([Uint8Array.of(tag), encodeLength(content.length), content]);
}

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export const sequence = (...items: Uint8Array[]) => tlv(TAG.SEQUENCE, Buffer.concat(items));
/** §10.3: the encodings of a SET OF's components appear in ascending order. */
export const set = (...items: Uint8Array[]) => tlv(TAG.SET, Buffer.concat([...items].sort(Buffer.compare)));
export const octetString = (bytes: Uint8Array) => tlv(TAG.OCTET_STRING, bytes);
export const utf8String = (text: string) => tlv(TAG.UTF8, Buffer.from(text, 'utf8'));
export const boolean = (value: boolean) => tlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
/** [n] EXPLICIT: constructed context-specific tag around the inner encoding. */
export const explicit = (n: number, inner: Uint8Array) => tlv(0xa0 | n, inner);
/** [n] IMPLICIT for a primitive type: context-specific tag replacing the inner tag. */
export const implicitPrimitive = (n: number, content: Uint8Array) => tlv(0x80 | n, content);

export function printableString(text: string): Uint8Array {
  if (!/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)) throw new RangeError(`not a PrintableString: ${text}`);
  return tlv(TAG.PRINTABLE, Buffer.from(text, 'ascii'));
}

/** A non-negative INTEGER from big-endian magnitude bytes or a bigint, minimally encoded. */
export function integer(value: bigint | Uint8Array): Uint8Array {
  let bytes = typeof value === 'bigint' ? bigintBytes(value) : Buffer.from(value);
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Uint8Array.of(0), bytes]);
  return tlv(TAG.INTEGER, bytes);
}

function bigintBytes(value: bigint): Buffer {
  if (value < 0n) throw new RangeError('negative INTEGER not supported');
  const hex = value.toString(16);
  return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => BigInt(a));
  if (arcs.length < 2 || arcs[0]! > 2n) throw new RangeError(`bad OID ${dotted}`);
  const body: number[] = [];
  for (const arc of [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    body.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(body));
}

/** BIT STRING of whole bytes (signatures, public keys): zero unused bits. */
export const bitString = (bytes: Uint8Array) => tlv(TAG.BIT_STRING, Buffer.concat([Uint8Array.of(0), bytes]));

/** A NamedBitList BIT STRING (e.g. KeyUsage): §11.2.2, trailing zero bits dropped. */
export function namedBits(bits: number[]): Uint8Array {
  if (bits.length === 0) return tlv(TAG.BIT_STRING, Uint8Array.of(0));
  const highest = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(highest / 8) + 1);
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7);
  return tlv(TAG.BIT_STRING, Buffer.concat([Uint8Array.of(7 - (highest & 7)), bytes]));
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
export function time(date: Date): Uint8Array {
  if (date.getUTCMilliseconds() !== 0) throw new RangeError('certificate times must be whole seconds');
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.000Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z';
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) throw new RangeError('certificate year out of range');
  return year < 2050 ? tlv(TAG.UTC_TIME, Buffer.from(digits.slice(2), 'ascii')) : tlv(TAG.GENERALIZED_TIME, Buffer.from(digits, 'ascii'));
}

/** One decoded TLV: `content` is a view into the input. */
export interface Tlv {
  tag: number;
  content: Uint8Array;
  /** Offset just past this TLV. */
  end: number;
}

/** Reads one TLV at `offset` (single-byte tags, definite minimal lengths). */
export function readTlv(buf: Uint8Array, offset: number): Tlv {
  if (offset + 2 > buf.length) throw new RangeError('DER truncated');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new RangeError('DER multi-byte tags not supported');
  let len = buf[offset + 1]!;
  let pos = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || pos + n > buf.length || buf[pos] === 0) throw new RangeError('DER length not definite and minimal');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[pos + i]!;
    if (len < 0x80) throw new RangeError('DER length not minimal');
    pos += n;
  }
  if (pos + len > buf.length) throw new RangeError('DER length runs past the end');
  return { tag, content: buf.subarray(pos, pos + len), end: pos + len };
}

/** The TLVs directly inside a constructed value. */
export function children(content: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = 0; pos < content.length; ) {
    const t = readTlv(content, pos);
    out.push(t);
    pos = t.end;
  }
  return out;
}

/** The dotted form of an OBJECT IDENTIFIER's content octets (§8.19). */
export function decodeOid(content: Uint8Array): string {
  if (content.length === 0 || (content[content.length - 1]! & 0x80)) throw new RangeError('DER OID truncated');
  const arcs: bigint[] = [];
  let value = 0n;
  for (const byte of content) {
    value = (value << 7n) | BigInt(byte & 0x7f);
    if (!(byte & 0x80)) {
      arcs.push(value);
      value = 0n;
    }
  }
  const first = arcs.shift()!;
  const head = first < 80n ? [first / 40n, first % 40n] : [2n, first - 80n];
  return [...head, ...arcs].join('.');
}

/** A non-negative INTEGER's value (at most 6 bytes: SPL values, pathLen). */
export function decodeSmallInteger(t: Tlv): number {
  if (t.tag !== TAG.INTEGER || t.content.length === 0 || t.content.length > 6 || (t.content[0]! & 0x80)) {
    throw new RangeError('DER INTEGER not a small non-negative value');
  }
  return t.content.reduce((n, b) => n * 256 + b, 0);
}

export { TAG };
