/**
 * The enclave's memory of record plaintexts (docs/vault.md "Reads and
 * writes without the HSM"): for each record id, the one stored copy this
 * process last sealed or opened (its version and SHA-256) and that copy's
 * plaintext. A read answers from here only when the row it read is exactly
 * that copy AND the version map names it (same version and hash: the check
 * every read makes); anything else goes the HSM path. Bounded by the bytes
 * it holds (plaintext, id and a fixed overhead per entry), least recently
 * used first out; a plaintext leaving is zeroed.
 */
import { Lru } from '../../util/lru.js';
import type { Entry } from './versionmap.js';

/** Default bound: 64 MiB (about 20,000 accounts' three records at ~1 KB each). */
export const PLAIN_CACHE_BYTES = 64 * 1024 * 1024;
/** An entry's weight besides its plaintext: the id's UTF-16, the hash, the object and the map slot. */
const OVERHEAD = 160;

interface Copy {
  readonly version: number;
  readonly hash: Buffer;
  readonly plain: Buffer;
  readonly weight: number;
}

export class PlainCache {
  private readonly copies: Lru<string, Copy>;

  constructor(capacity = PLAIN_CACHE_BYTES) {
    this.copies = new Lru({ capacity, weigh: (c) => c.weight, dispose: (c) => c.plain.fill(0) });
  }

  /** Remembers `plain` (the cache takes it) as the plaintext of the copy of `id` at `version` whose bytes hash to `hash`. */
  put(id: string, version: number, hash: Buffer, plain: Buffer): void {
    this.copies.set(id, { version, hash, plain, weight: plain.length + 2 * id.length + OVERHEAD });
  }

  /** The plaintext of the row of `id` at `version` hashing to `hash` when the map's entry `e` names exactly that copy and it is held here. */
  get(id: string, e: Entry, version: number, hash: Buffer): Buffer | undefined {
    const c = this.copies.get(id);
    if (c === undefined || c.version !== version || version !== e.version) return undefined;
    return c.hash.equals(hash) && e.hash.equals(hash) ? c.plain : undefined;
  }

  /** Bytes held (for tests and figures). */
  get weight(): number {
    return this.copies.weight;
  }
}
