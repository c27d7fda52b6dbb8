/**
 * The keyring of a rotated repository (docs/format.md, "Master-key
 * rotation"): after `key rotate-master` the config object is sealed under
 * the newest master key (an EBKO version 3 object of its generation) and
 * carries, before the config JSON, the keyring record:
 *
 *   version u8 (=1) | generation u8 | blobIdKey[32] | gearSeed[32]
 *   | oldCount u32 | oldCount × (generation u8 | key[32])
 *   | pendingCount u32 | pendingCount × keyFileId[32]
 *   | configLength u32 | config JSON
 *
 * `old` are the earlier master keys still needed to read what they sealed
 * (so the old keys are wrapped under the new one); `blobIdKey` and
 * `gearSeed` are generation 0's and never change (deduplication across a
 * rotation); `pending` names the key files an unfinished rotation still has
 * to remove. One object holds config and keyring, so a single atomic save
 * switches both. A repository never rotated keeps its version 1 config.
 */
import { deriveKey } from '../../crypto/index.js';
import { EbakError, isEbakError } from '../../errors.js';
import { Reader, Writer } from './bytes.js';
import { decodeConfig, encodeConfig, type RepoConfig } from './config.js';
import { decodeObject, encodeObject, MAX_GENERATION, objectGeneration } from './object.js';

export const KEYRING_VERSION = 1;

export interface OldKey {
  generation: number;
  key: Buffer;
}

export interface Keyring {
  /** The generation of the master key the config object is sealed under (1…127). */
  generation: number;
  /** Generation 0's blob-id key and gear seed: every generation's blob ids and chunk boundaries. */
  blobIdKey: Buffer;
  gearSeed: Buffer;
  /** Earlier master keys still needed, by increasing generation. */
  old: OldKey[];
  /** Key files (ids, hex) an unfinished rotation still removes. */
  pending: string[];
}

/** The config object as a holder of one master key reads it. */
export interface OpenedConfig {
  config: RepoConfig;
  /** Absent in a repository never rotated (generation 0). */
  keyring?: Keyring;
}

export function encodeKeyring(k: Keyring, config: RepoConfig): Buffer {
  const w = new Writer().u8(KEYRING_VERSION).u8(k.generation).bytes(k.blobIdKey).bytes(k.gearSeed).u32(k.old.length);
  for (const o of k.old) w.u8(o.generation).bytes(o.key);
  w.u32(k.pending.length);
  for (const id of k.pending) w.bytes(Buffer.from(id, 'hex'));
  const json = encodeConfig(config);
  return w.u32(json.length).bytes(json).finish();
}

/** The keyring and config of a version 3 config payload; `generation` is the object header's. */
export function decodeKeyring(payload: Buffer, generation: number): OpenedConfig {
  const r = new Reader(payload, 'config keyring');
  const version = r.u8();
  if (version !== KEYRING_VERSION) throw new EbakError('UNSUPPORTED_VERSION', `config: keyring version ${version} is not supported by this ebak`);
  if (r.u8() !== generation) throw r.corrupt('its generation differs from the object header\'s');
  const blobIdKey = Buffer.from(r.bytes(32));
  const gearSeed = Buffer.from(r.bytes(32));
  const old = Array.from({ length: r.count(33) }, () => ({ generation: r.u8(), key: Buffer.from(r.bytes(32)) }));
  if (old.some((o, i) => o.generation >= generation || (i > 0 && o.generation <= old[i - 1]!.generation))) throw r.corrupt('old generations out of order');
  const pending = Array.from({ length: r.count(32) }, () => r.bytes(32).toString('hex'));
  const json = r.bytes(r.count(1));
  r.end();
  return { config: decodeConfig(json), keyring: { generation, blobIdKey, gearSeed, old, pending } };
}

/** The stored config object: version 1 for generation 0 without a keyring, else version 3 of the keyring's generation. */
export function sealConfig(masterKey: Uint8Array, config: RepoConfig, keyring?: Keyring): Buffer {
  const objectKey = deriveKey(masterKey, 'object');
  if (!keyring) return encodeObject(objectKey, 'config', encodeConfig(config));
  if (keyring.generation < 1 || keyring.generation > MAX_GENERATION) throw new EbakError('USAGE', `master-key generation ${keyring.generation} is outside 1…${MAX_GENERATION}`);
  return encodeObject(objectKey, 'config', encodeKeyring(keyring, config), keyring.generation);
}

/**
 * Opens the config object with one master key: AUTH_FAILED when it is not
 * the key the config is sealed under (another repository's, or a master key
 * a rotation retired).
 */
export function openConfig(masterKey: Uint8Array, raw: Buffer): OpenedConfig {
  const generation = objectGeneration(raw, 'config', 'config');
  const payload = decodeObject(deriveKey(masterKey, 'object'), 'config', raw, 'config');
  return generation === 0 ? { config: decodeConfig(payload) } : decodeKeyring(payload, generation);
}

/** Whether `masterKey` opens the config object `raw` (AUTH_FAILED: another key; any other error is thrown). */
export function opensConfig(masterKey: Uint8Array, raw: Buffer): boolean {
  try {
    openConfig(masterKey, raw);
    return true;
  } catch (e) {
    if (isEbakError(e, 'AUTH_FAILED')) return false;
    throw e;
  }
}
