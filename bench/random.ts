/**
 * Deterministic randomness for the benchmarks: a small seeded PRNG for choices
 * (sizes, words, offsets) and an AES-256-CTR keystream for bulk bytes. Both are
 * derived from a text seed plus a label, so every stream is reproducible on its
 * own and adding a stream never shifts the bytes of another.
 */
import { createCipheriv, createHash, type Cipher } from 'node:crypto';

function seedBytes(seed: string, label: string): Buffer {
  return createHash('sha256').update(`${seed}\0${label}`).digest();
}

/** sfc32: fast, well-distributed, 128-bit state; plenty for picking sizes and words. */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string, label: string) {
    const h = seedBytes(seed, label);
    this.a = h.readUInt32LE(0);
    this.b = h.readUInt32LE(4);
    this.c = h.readUInt32LE(8);
    this.d = h.readUInt32LE(12);
    for (let i = 0; i < 15; i++) this.next();
  }

  /** Uniform uint32. */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.float() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
}

const ZEROS = Buffer.alloc(4 << 20);

/** Incompressible bytes: the AES-256-CTR keystream under a key derived from seed and label. */
export class Keystream {
  private readonly cipher: Cipher;

  constructor(seed: string, label: string) {
    const key = seedBytes(seed, label);
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  }

  /** The next `n` bytes of the stream (n ≤ 4 MiB per call). */
  take(n: number): Buffer {
    if (n > ZEROS.length) throw new RangeError(`Keystream.take: n=${n} exceeds ${ZEROS.length}`);
    return this.cipher.update(ZEROS.subarray(0, n));
  }
}
