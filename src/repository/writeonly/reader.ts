/**
 * The full key's side of key source 1: a holder of K reads what write-only
 * credentials wrote (packs of key source 1, EBKO version 2 objects) beside
 * its own. The repository key pair is derived from K the first time one is
 * needed (HPKE is async, so the async sits here, where a key is first
 * asked for); per-pack keys are cached by the repository as before.
 */
import { KeySource, packKeyFor, type PackKeyOf } from '../format/pack.js';
import { openedKey, repositoryKeyPair, type RepositoryKeyPair } from '../format/hpke.js';
import { decodeObject, OBJECT_VERSION, objectVersion, openSealedObject, sealedHeader, type ObjectTypeName } from '../format/object.js';

/** The subkeys of K this reader uses (`Repository.subKeys`). */
export interface ReaderKeys {
  pack: Buffer;
  object: Buffer;
  /** HKDF(K, "", "write-only"): the seed of the repository key pair. */
  writeOnly: Buffer;
}

export class FullKeyReader {
  private pair: Promise<RepositoryKeyPair> | undefined;

  constructor(private readonly keys: ReaderKeys, private readonly repositoryId: string) {}

  /** The repository key pair (its public key goes into write-only credentials). */
  keyPair(): Promise<RepositoryKeyPair> {
    return (this.pair ??= repositoryKeyPair(this.keys.writeOnly));
  }

  /** The per-pack key of either key source. */
  readonly packKey: PackKeyOf = async (prefix, what) => {
    if (prefix.keySource === KeySource.master) return packKeyFor(this.keys.pack, prefix.salt);
    return openedKey(await this.keyPair(), this.repositoryId, 'pack', prefix.salt, what);
  };

  /** An encrypted object of either version, authenticated, decrypted and decompressed. */
  async openObject(type: ObjectTypeName, data: Buffer, what: string): Promise<Buffer> {
    if (objectVersion(data, type, what) === OBJECT_VERSION) return decodeObject(this.keys.object, type, data, what);
    const { enc } = sealedHeader(data, type, what);
    return openSealedObject(await openedKey(await this.keyPair(), this.repositoryId, 'object', enc, what), data, what);
  }
}
