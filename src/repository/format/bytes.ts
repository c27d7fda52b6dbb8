/** Strict little helpers for the binary formats: a reader that refuses to overrun. */
import { EbakError } from '../../errors.js';

export class Reader {
  private pos = 0;
  constructor(private readonly buf: Buffer, private readonly what: string) {}

  private take(n: number): number {
    if (this.pos + n > this.buf.length) throw this.corrupt('truncated');
    const p = this.pos;
    this.pos += n;
    return p;
  }
  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }
  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }
  bytes(n: number): Buffer {
    const p = this.take(n);
    return this.buf.subarray(p, p + n);
  }
  /** Guards a count read from untrusted bytes against absurd allocations. */
  count(perItem: number): number {
    const n = this.u32();
    if (n * perItem > this.buf.length - this.pos) throw this.corrupt('count exceeds the data');
    return n;
  }
  end(): void {
    if (this.pos !== this.buf.length) throw this.corrupt('trailing bytes');
  }
  corrupt(why: string): EbakError {
    return new EbakError('CORRUPT', `${this.what}: invalid format (${why})`);
  }
}

/**
 * Appends fields to one buffer that doubles when full: an index file of a
 * million blobs is six million fields, and a Buffer per field (as this
 * writer once made) held hundreds of MiB of heap until `finish`. Buffers it
 * drops are zeroed first (key files and keyrings pass through here).
 */
export class Writer {
  private buf: Buffer;
  private len = 0;
  /** `capacity`: the bytes expected (a writer filled exactly hands its buffer over at `finish`, no copy). */
  constructor(capacity = 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }
  u8(v: number): this {
    const at = this.room(1); // before this.buf is read: room may replace it
    this.buf.writeUInt8(v, at);
    return this;
  }
  u32(v: number): this {
    const at = this.room(4);
    this.buf.writeUInt32LE(v, at);
    return this;
  }
  bytes(b: Uint8Array): this {
    const at = this.room(b.byteLength);
    this.buf.set(b, at);
    return this;
  }
  /** The bytes written, in a buffer of their own size. */
  finish(): Buffer {
    if (this.len === this.buf.length) {
      const whole = this.buf;
      this.buf = Buffer.alloc(0);
      this.len = 0;
      return whole;
    }
    const out = Buffer.from(this.buf.subarray(0, this.len));
    this.buf.fill(0, 0, this.len);
    return out;
  }
  /** Reserves `n` bytes; returns where they start. */
  private room(n: number): number {
    const at = this.len;
    if (at + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, at + n));
      this.buf.copy(next, 0, 0, at);
      this.buf.fill(0, 0, at);
      this.buf = next;
    }
    this.len = at + n;
    return at;
  }
}
