/**
 * A write-only credential (docs/format.md, "Write-only credentials"): what
 * a device that may only back up holds. A plain value, so that a key file
 * (version 2, kind "write-only") wraps it today and a vault could release
 * it to a device session later. It carries the repository's public key
 * (to seal pack and object keys, format/hpke.ts), the blob-id key and gear
 * seed (to chunk and name blobs as every other writer does, so the full
 * key deduplicates against its data), the config values a writer needs
 * (it cannot read the config, which is sealed under K), and a random
 * device key that wraps each of its object keys for itself, so it can
 * reopen its own index files and nothing else.
 *
 * Also the device side of key source 1: fresh pack keys, objects sealed to
 * the repository, and the reopening of its own objects.
 */
import { deriveKey, NONCE_BYTES, random } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import type { RepoConfig } from '../format/config.js';
import { sealedKey } from '../format/hpke.js';
import { MAX_WRITE_ONLY_GENERATION } from '../format/pack.js';
import { encodeSealedObject, OBJECT_VERSION, objectVersion, openSealedObject, sealedHeader, unwrapObjectKey, type ObjectTypeName } from '../format/object.js';

/** What a write-only writer needs of the config. */
export type WriterConfig = Pick<RepoConfig, 'id' | 'chunker' | 'compression_level' | 'pack_size' | 'object_lock'>;

export interface WriteOnlyCredential {
  config: WriterConfig;
  /** The repository's X25519 public key (32 bytes). */
  publicKey: Buffer;
  blobIdKey: Buffer;
  gearSeed: Buffer;
  /** 32 random bytes, made with the credential. */
  deviceKey: Buffer;
  /** The master-key generation whose key pair `publicKey` is (0 before any rotation): its packs' and objects' key source says it (format/pack.ts). */
  generation: number;
}

/** The credential a full key makes: its config values and subkeys, the repository public key, a new device key. */
export function newCredential(config: RepoConfig, keys: { blobId: Buffer; gearSeed: Buffer }, publicKey: Buffer, generation = 0): WriteOnlyCredential {
  const { id, chunker, compression_level, pack_size, object_lock } = config;
  return {
    config: { id, chunker, compression_level, pack_size, ...(object_lock ? { object_lock } : {}) },
    publicKey, blobIdKey: keys.blobId, gearSeed: keys.gearSeed, deviceKey: random(32), generation,
  };
}

/** The bundle's JSON, in this field order (docs/format.md). */
export function encodeCredential(c: WriteOnlyCredential): Buffer {
  const { id, chunker, compression_level, pack_size, object_lock } = c.config;
  return Buffer.from(JSON.stringify({
    repository_id: id, public_key: c.publicKey.toString('hex'), blob_id_key: c.blobIdKey.toString('hex'), gear_seed: c.gearSeed.toString('hex'),
    chunker, compression_level, pack_size, ...(object_lock ? { object_lock } : {}), device_key: c.deviceKey.toString('hex'),
    ...(c.generation === 0 ? {} : { generation: c.generation }),
  }));
}

interface Bundle {
  repository_id: string; public_key: string; blob_id_key: string; gear_seed: string; device_key: string;
  chunker: RepoConfig['chunker']; compression_level: number; pack_size: number; object_lock?: RepoConfig['object_lock']; generation?: number;
}

/** Parses an unwrapped bundle (authenticated by its key file's unwrap; checked all the same). */
export function decodeCredential(bytes: Buffer, what: string): WriteOnlyCredential {
  let b: Bundle;
  try {
    b = JSON.parse(bytes.toString('utf8')) as Bundle;
  } catch {
    throw new EbakError('CORRUPT', `${what}: the write-only credential is not valid JSON`);
  }
  const hex32 = [b?.repository_id, b?.public_key, b?.blob_id_key, b?.gear_seed, b?.device_key];
  const ints = [b?.chunker?.min, b?.chunker?.avg, b?.chunker?.max, b?.compression_level, b?.pack_size];
  if (!hex32.every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h)) || !ints.every((v) => Number.isSafeInteger(v) && (v as number) > 0))
    throw new EbakError('CORRUPT', `${what}: invalid write-only credential fields`);
  const generation = b.generation ?? 0;
  if (!Number.isSafeInteger(generation) || generation < 1 && b.generation !== undefined || generation > MAX_WRITE_ONLY_GENERATION)
    throw new EbakError('CORRUPT', `${what}: invalid write-only credential generation`);
  const { chunker, compression_level, pack_size, object_lock } = b;
  return {
    config: { id: b.repository_id, chunker, compression_level, pack_size, ...(object_lock ? { object_lock } : {}) },
    publicKey: Buffer.from(b.public_key, 'hex'), blobIdKey: Buffer.from(b.blob_id_key, 'hex'),
    gearSeed: Buffer.from(b.gear_seed, 'hex'), deviceKey: Buffer.from(b.device_key, 'hex'), generation,
  };
}

/** A new per-pack key: `salt` (the pack's salt field) is the HPKE enc. `ekm`: test vectors only. */
export async function newPackKey(c: WriteOnlyCredential, ekm?: Uint8Array): Promise<{ salt: Buffer; key: Buffer }> {
  const { enc, key } = await sealedKey(c.publicKey, c.config.id, 'pack', ekm);
  return { salt: enc, key };
}

/**
 * The first 4 bytes of the device wrap's nonce in every object this
 * credential seals: HKDF(deviceKey, "", "ebak/v1/device-marker")[0..4), so a
 * reader tells "sealed by this device" from the header, before it
 * authenticates anything (the other 8 bytes are random).
 */
export function deviceMarker(c: WriteOnlyCredential): Buffer {
  return deriveKey(c.deviceKey, 'device-marker').subarray(0, MARKER_BYTES);
}

const MARKER_BYTES = 4;

/** An object sealed to the repository (EBKO version 2) that this credential can reopen. */
export async function sealObject(c: WriteOnlyCredential, type: ObjectTypeName, payload: Uint8Array, ekm?: Uint8Array): Promise<Buffer> {
  const { enc, key } = await sealedKey(c.publicKey, c.config.id, 'object', ekm);
  const wrapNonce = Buffer.concat([deviceMarker(c), random(NONCE_BYTES - MARKER_BYTES)]);
  return encodeSealedObject({ objectKey: key, enc, deviceKey: c.deviceKey, wrapNonce, generation: c.generation }, type, payload);
}

/**
 * The payload of an object this credential wrote; undefined for anyone
 * else's (a full key's version 1 object, another device's; the repository
 * passes over a rotated full key's version 3 objects before asking). Whether it is
 * its own is read from the header first (deviceMarker): one of its own that
 * fails authentication, in its key wrap or its body, is damage (AUTH_FAILED
 * or CORRUPT, as for any reader), never "not mine". An object without the
 * marker (another writer's, or its own from before the marker) is its own
 * only if its key wrap opens.
 */
export function openOwnObject(c: WriteOnlyCredential, type: ObjectTypeName, data: Buffer, what: string): Buffer | undefined {
  if (objectVersion(data, type, what) === OBJECT_VERSION) return undefined;
  const header = sealedHeader(data, type, what);
  const marked = header.deviceWrap.subarray(0, MARKER_BYTES).equals(deviceMarker(c));
  const key = unwrapObjectKey(c.deviceKey, header, what);
  if (!key && marked) throw new EbakError('AUTH_FAILED', `${what}: sealed by this device, but its key wrap fails authentication (altered or corrupted)`);
  return key && openSealedObject(key, data, what);
}

/** The one refusal every command but backup meets when opened with a write-only credential. */
export function writeOnlyRefusal(): EbakError {
  return new EbakError('WRITE_ONLY', 'this credential is write-only: it can only run `backup`', {
    hint: 'open the repository with a full key (its password or recovery key) for anything else',
  });
}
