/**
 * The repository config (docs/format.md, "Config"): JSON inside an encrypted
 * object of type "config", stored under the fixed name `config`.
 */
import { validateParams } from '../../chunker/index.js';
import { EbakError, isEbakError } from '../../errors.js';

export const REPO_VERSION = 1;

/**
 * The repository's S3 Object Lock retention for data packs and snapshots
 * (docs/format.md, "Config"): part of the format, so defined here; the S3
 * backend takes it as its own typed option.
 */
export interface ObjectLockSetting {
  mode: 'COMPLIANCE' | 'GOVERNANCE';
  /** 1..36500 (S3's limit of 100 years). */
  days: number;
}

export interface RepoConfig {
  version: number;
  id: string;
  created: string;
  chunker: { min: number; avg: number; max: number };
  compression_level: number;
  /** Target pack size in bytes; a pack may exceed it by one blob. */
  pack_size: number;
  /** Optional: S3 Object Lock retention for data packs and snapshots (absent: no lock). */
  object_lock?: ObjectLockSetting;
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
  if (c.object_lock !== undefined && !validLock(c.object_lock)) throw new EbakError('CORRUPT', 'config: invalid object_lock');
  try {
    validateParams(c.chunker);
  } catch (e) {
    throw isEbakError(e) ? new EbakError('CORRUPT', `config: ${e.message}`) : e;
  }
  return c;
}

function validLock(o: ObjectLockSetting): boolean {
  return (o?.mode === 'COMPLIANCE' || o?.mode === 'GOVERNANCE') && Number.isInteger(o.days) && o.days >= 1 && o.days <= 36500;
}
