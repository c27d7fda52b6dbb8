/**
 * The repository config (docs/format.md, "Config"): JSON inside an encrypted
 * object of type "config", stored under the fixed name `config`.
 */
import { validateParams } from '../../chunker/index.js';
import { EbakError, isEbakError } from '../../errors.js';
import { checkObjectLock, type ObjectLockMode } from '../../storage/objectlock.js';

export const REPO_VERSION = 1;

export interface RepoConfig {
  version: number;
  id: string;
  created: string;
  chunker: { min: number; avg: number; max: number };
  compression_level: number;
  /** Target pack size in bytes; a pack may exceed it by one blob. */
  pack_size: number;
  /** Optional: S3 Object Lock retention for data packs and snapshots (absent: no lock). */
  object_lock?: { mode: ObjectLockMode; days: number };
}

export function encodeConfig(c: RepoConfig): Buffer {
  return Buffer.from(JSON.stringify(c));
}

export function decodeConfig(payload: Buffer): RepoConfig {
  let c: RepoConfig;
  try {
    c = JSON.parse(payload.toString('utf8')) as RepoConfig;
  } catch {
    throw new EbakError('CORRUPT', 'config: not valid JSON');
  }
  if (c?.version !== REPO_VERSION) throw new EbakError('UNSUPPORTED_VERSION', `config: repository version ${c?.version} is not supported by this ebak`);
  const ints = [c.chunker?.min, c.chunker?.avg, c.chunker?.max, c.compression_level, c.pack_size];
  if (typeof c.id !== 'string' || !/^[0-9a-f]{64}$/.test(c.id) || !ints.every((v) => Number.isSafeInteger(v) && (v as number) > 0))
    throw new EbakError('CORRUPT', 'config: invalid fields');
  try {
    validateParams(c.chunker);
    if (c.object_lock !== undefined) checkObjectLock(c.object_lock);
  } catch (e) {
    throw isEbakError(e) ? new EbakError('CORRUPT', `config: ${e.message}`) : e;
  }
  return c;
}
