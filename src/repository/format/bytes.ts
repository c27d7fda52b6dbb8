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

export class Writer {
  private chunks: Buffer[] = [];
  u8(v: number): this {
    const b = Buffer.allocUnsafe(1);
    b.writeUInt8(v);
    this.chunks.push(b);
    return this;
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v);
    this.chunks.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}
