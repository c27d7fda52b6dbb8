/**
 * The master keys a repository reads with, one per generation
 * (docs/format.md, "Master-key rotation"): the current one (what everything
 * new is sealed under) and the old ones its keyring holds. Readers pick the
 * key from the generation a header names (a pack's key source, an object's
 * version 3 generation byte); a generation the keyring no longer holds opens
 * nothing (AUTH_FAILED). Each generation's own subkeys derive from its key;
 * the blob-id key and gear seed are generation 0's for every generation.
 */
import { deriveKey } from '../crypto/index.js';
import { EbakError } from '../errors.js';
import type { Keyring } from './format/keyring.js';
import { decodeObject, objectGeneration, objectVersion, OBJECT_VERSION_SEALED, sealedHeader, type ObjectTypeName } from './format/object.js';
import { KeySource, keySourceGeneration, type PackKeyOf } from './format/pack.js';
import { FullKeyReader } from './writeonly/reader.js';
import type { RepositoryKeyPair } from './format/hpke.js';

export interface SubKeys {
  blobId: Buffer;
  gearSeed: Buffer;
  pack: Buffer;
  object: Buffer;
  /** The seed of the repository key pair (key source 1: writeonly/reader.ts). */
  writeOnly: Buffer;
}

/** K's subkeys (docs/format.md, "Keys and subkeys"); `shared`: generation 0's blob-id key and gear seed, for a later generation. */
export function deriveSubKeys(masterKey: Uint8Array, shared?: { blobIdKey: Buffer; gearSeed: Buffer }): SubKeys {
  return {
    blobId: shared?.blobIdKey ?? deriveKey(masterKey, 'blob-id'),
    gearSeed: shared?.gearSeed ?? deriveKey(masterKey, 'gear'),
    pack: deriveKey(masterKey, 'pack'),
    object: deriveKey(masterKey, 'object'),
    writeOnly: deriveKey(masterKey, 'write-only'),
  };
}

export class KeyGenerations {
  private readonly readers = new Map<number, FullKeyReader>();
  private readonly subKeys = new Map<number, SubKeys>();

  /** `masters`: every generation's master key this repository holds, the current one included. */
  private constructor(readonly current: number, private readonly masters: ReadonlyMap<number, Buffer>, shared: { blobIdKey: Buffer; gearSeed: Buffer } | undefined, repositoryId: string) {
    for (const [g, key] of masters) {
      const keys = deriveSubKeys(key, g === 0 ? undefined : shared);
      this.subKeys.set(g, keys);
      this.readers.set(g, new FullKeyReader(keys, repositoryId));
    }
  }

  /** The generations of `masterKey` (the one the config opened with) and of the keyring's old keys. */
  static of(masterKey: Uint8Array, keyring: Keyring | undefined, repositoryId: string): KeyGenerations {
    const masters = new Map<number, Buffer>((keyring?.old ?? []).map((o) => [o.generation, o.key]));
    masters.set(keyring?.generation ?? 0, Buffer.from(masterKey));
    return new KeyGenerations(keyring?.generation ?? 0, masters, keyring, repositoryId);
  }

  /** The current generation's subkeys: what new packs and objects are sealed with. */
  get keys(): SubKeys {
    return this.subKeys.get(this.current)!;
  }

  /** Every generation's master key, oldest first (a rotation keeps them in its new keyring). */
  all(): { generation: number; key: Buffer }[] {
    return [...this.masters].sort((a, b) => a[0] - b[0]).map(([generation, key]) => ({ generation, key }));
  }

  /** The repository key pair of the current generation (write-only credentials). */
  keyPair(): Promise<RepositoryKeyPair> {
    return this.reader(this.current, 'the repository key pair').keyPair();
  }

  /** The per-pack key of any key source whose generation this repository holds. */
  readonly packKey: PackKeyOf = async (prefix, what) => {
    const source = keySourceGeneration(prefix.keySource);
    if (!source) throw new EbakError('UNSUPPORTED_VERSION', `${what}: pack key source ${prefix.keySource} is not supported`);
    const keySource = source.writeOnly ? KeySource.writeOnly : KeySource.master;
    return this.reader(source.generation, what).packKey({ ...prefix, keySource }, what);
  };

  /** An encrypted object of any version, opened with the key of the generation its header names. */
  async openObject(type: ObjectTypeName, data: Buffer, what: string): Promise<Buffer> {
    if (objectVersion(data, type, what) === OBJECT_VERSION_SEALED) return this.reader(sealedHeader(data, type, what).generation, what).openObject(type, data, what);
    const g = objectGeneration(data, type, what);
    this.reader(g, what);
    return decodeObject(this.subKeys.get(g)!.object, type, data, what);
  }

  /** The generation of a stored object (version 2, a write-only credential's: the one its key source names). */
  static generationOf(type: ObjectTypeName, data: Buffer, what: string): number {
    return objectVersion(data, type, what) === OBJECT_VERSION_SEALED ? sealedHeader(data, type, what).generation : objectGeneration(data, type, what);
  }

  private reader(generation: number, what: string): FullKeyReader {
    const r = this.readers.get(generation);
    if (!r)
      throw new EbakError('AUTH_FAILED', `${what}: sealed under master-key generation ${generation}, which this repository's keyring does not hold (retired by a rotation, or altered)`);
    return r;
  }
}
