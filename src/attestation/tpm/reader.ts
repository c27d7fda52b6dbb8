/**
 * A bounds-checked cursor over TPM 2.0 wire structures (TPM 2.0 Part 2:
 * big-endian integers, TPM2B = 16-bit size then bytes). Running past the end
 * throws AttestationError(check), so malformed input only gives typed errors.
 */
import { AttestationError, type AttestationCheck } from '../errors.js';

export class Reader {
  private pos = 0;
  private readonly view: DataView;

  constructor(private readonly bytes: Uint8Array, private readonly check: AttestationCheck, private readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  }

  private take(n: number): number {
    if (this.pos + n > this.bytes.length) throw new AttestationError(this.check, `${this.what} is truncated at byte ${this.pos}`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number { return this.view.getUint8(this.take(1)); }
  u16(): number { return this.view.getUint16(this.take(2)); }
  u32(): number { return this.view.getUint32(this.take(4)); }
  u64(): bigint { return this.view.getBigUint64(this.take(8)); }
  /** Little-endian, for the TCG event log. */
  u16le(): number { return this.view.getUint16(this.take(2), true); }
  u32le(): number { return this.view.getUint32(this.take(4), true); }
  bytesOf(n: number): Uint8Array {
    const at = this.take(n);
    return this.bytes.subarray(at, at + n);
  }
  tpm2b(): Uint8Array { return this.bytesOf(this.u16()); }
  get done(): boolean { return this.pos === this.bytes.length; }

  /** Asserts every byte was consumed. */
  end(): void {
    if (!this.done) throw new AttestationError(this.check, `${this.what} has ${this.bytes.length - this.pos} trailing bytes`);
  }
}

/** TPM_ALG_ID hash algorithms (TPM 2.0 Part 2 §6.3) → node:crypto name and digest size. */
export const HASH_ALGS: ReadonlyMap<number, { name: string; size: number }> = new Map([
  [0x0004, { name: 'sha1', size: 20 }],
  [0x000b, { name: 'sha256', size: 32 }],
  [0x000c, { name: 'sha384', size: 48 }],
  [0x000d, { name: 'sha512', size: 64 }],
]);
