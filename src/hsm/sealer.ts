/**
 * Sealed record v2 (seal.ts) without an HSM call per record: a sealer that
 * reuses a record's data key, in this process's memory, for its next
 * versions, and opens a record whose wrapped key it has already unwrapped
 * without unwrapping it again. The bytes are sealed record v2 unchanged
 * (seal.ts's `unseal` opens them); only who pays for the wrap changes.
 *
 * Why a key may be reused: every seal draws a fresh random 96-bit IV, and
 * the AAD holds the record's id and version, so two seals under one key
 * differ as two records do. AES-GCM's limit for random IVs is 2^32 seals per
 * key (NIST SP 800-38D §8.3: an IV collision, which leaks the XOR of two
 * plaintexts and the GHASH key, then stays below 2^-32); a key here seals at
 * most `maxSeals` (default 2^24: collision odds ~2^48/2^97 = 2^-49, and one
 * wrap per 16.7 million seals costs nothing) and is at most `maxAgeMs` old
 * (default 10 minutes), then a fresh key is drawn and wrapped (one HSM call).
 * The age bound is what makes a KEK rotation, expiry or revocation reach new
 * seals: a record is never sealed under a wrap older than it, so the grace
 * period after a KEK's notAfter (docs/hsm.md) still covers every record
 * sealed under that KEK. A wrap that comes back under a newer KEK version
 * than a cached key's drops every cached sealing key of older versions.
 *
 * Keys this process read back (unwrapped from a stored record) are used to
 * open, never to seal: how many seals they already made is not known.
 */
import { randomBytes } from 'node:crypto';
import { EbakError } from '../errors.js';
import { Lru } from '../util/lru.js';
import { parseBlob } from './blob.js';
import type { KeyWrapper } from './hsm.js';
import { DATA_KEY, contentKey, openUnder, parseSealed, sealUnder, sealedHeader, unwrapContentKey, type RecordAad } from './seal.js';

export interface SealerOptions {
  /** The 32-byte binding key: the sealer makes and opens format 2 only. */
  readonly bind: Uint8Array;
  /** Seals per data key before a fresh one is taken; default 2^24 (a test makes it small). */
  readonly maxSeals?: number;
  /** A data key's age before a fresh one is taken; default 10 minutes. */
  readonly maxAgeMs?: number;
  /** Cached keys of each kind (sealing, opening); default 65,536 (~35 MB for both when full, docs/hsm.md). */
  readonly maxKeys?: number;
  readonly now?: () => number;
}

export const MAX_SEALS_PER_KEY = 2 ** 24;
const MAX_AGE_MS = 10 * 60 * 1000;
const MAX_KEYS = 65_536;

/** A record's sealing key: the GCM key (never the data key, zeroed once derived) and the header naming its wrap. */
interface SealingKey {
  readonly key: Buffer;
  readonly header: Buffer;
  readonly kekVersion: number;
  readonly born: number;
  seals: number;
}

export class RecordSealer {
  private readonly sealing: Lru<string, SealingKey>;
  /** Wrapped key (as a binary string) → its GCM key: the HSM unwrapped it, or this sealer wrapped it. */
  private readonly opening: Lru<string, Buffer>;
  private readonly renewing = new Map<string, Promise<void>>();
  /** The newest KEK version a wrap came back under: a newer one means the ring was rotated. */
  private newestKek = 0;
  private readonly maxSeals: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;

  constructor(private readonly hsm: KeyWrapper, private readonly ring: string, private readonly options: SealerOptions) {
    if (options.bind.length !== 32) throw new EbakError('USAGE', 'a sealed record binding key is 32 bytes');
    this.maxSeals = options.maxSeals ?? MAX_SEALS_PER_KEY;
    if (!(this.maxSeals >= 1 && this.maxSeals <= 2 ** 32)) throw new EbakError('USAGE', 'seals per data key are 1..2^32 (AES-GCM with random IVs)');
    this.maxAgeMs = options.maxAgeMs ?? MAX_AGE_MS;
    this.now = options.now ?? Date.now;
    const capacity = options.maxKeys ?? MAX_KEYS;
    this.sealing = new Lru({ capacity, dispose: (k) => k.key.fill(0) });
    this.opening = new Lru({ capacity, dispose: (k) => k.fill(0) });
  }

  /** `record` sealed as version `aad.version` of `aad.id` (sealed record v2), with no HSM call unless its key is due for renewal. */
  async seal(record: Uint8Array, aad: RecordAad): Promise<Buffer> {
    for (;;) {
      // Used at once, in the same turn it is looked up: a key evicted meanwhile is never used after it was zeroed.
      const k = this.usable(aad.id);
      if (k !== undefined) {
        k.seals++;
        return sealUnder(k.key, k.header, record, aad);
      }
      await this.renew(aad.id);
    }
  }

  /** The record, authenticated; the HSM unwraps its key only when this sealer has not seen that wrapped key. */
  async unseal(sealed: Uint8Array, aad: RecordAad): Promise<Buffer> {
    const parts = parseSealed(sealed, aad, true);
    const name = parts.wrapped.toString('latin1');
    const known = this.opening.get(name);
    if (known !== undefined) return openUnder(known, parts, aad);
    const key = await unwrapContentKey(this.hsm, parts, this.options.bind);
    let plain: Buffer;
    try {
      plain = openUnder(key, parts, aad);
    } catch (e) {
      key.fill(0);
      throw e;
    }
    // Kept only once it opened a record: a wrapped key the HSM accepted whose record then fails is not kept.
    this.opening.set(name, key);
    return plain;
  }

  private usable(id: string): SealingKey | undefined {
    const k = this.sealing.get(id);
    if (k === undefined) return undefined;
    if (k.seals < this.maxSeals && this.now() - k.born < this.maxAgeMs) return k;
    this.sealing.delete(id);
    return undefined;
  }

  /** A fresh data key for `id`, wrapped once; concurrent seals of `id` share the one wrap. */
  private renew(id: string): Promise<void> {
    let p = this.renewing.get(id);
    if (p === undefined) {
      p = this.wrapFresh(id).finally(() => this.renewing.delete(id));
      this.renewing.set(id, p);
    }
    return p;
  }

  private async wrapFresh(id: string): Promise<void> {
    const dataKey = randomBytes(DATA_KEY);
    try {
      const key = contentKey(dataKey, this.options.bind);
      const wrapped = Buffer.from(await this.hsm.wrap(this.ring, dataKey));
      const kekVersion = parseBlob(wrapped).version;
      if (kekVersion > this.newestKek) {
        // A rotated ring: no record goes on sealing under the older KEK version.
        if (this.newestKek > 0) this.sealing.deleteWhere((k) => k.kekVersion < kekVersion);
        this.newestKek = kekVersion;
      }
      this.sealing.set(id, { key, header: sealedHeader(wrapped, true), kekVersion, born: this.now(), seals: 0 });
      this.opening.set(wrapped.toString('latin1'), Buffer.from(key));
    } finally {
      dataKey.fill(0);
    }
  }
}
