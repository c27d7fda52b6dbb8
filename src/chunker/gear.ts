import { hkdfSync } from 'node:crypto';
import { EbakError } from '../errors.js';

/** HKDF info label of the gear table; changing it changes every chunk boundary (a new format version). */
export const GEAR_INFO = 'ebak/v1/gear';
export const GEAR_SEED_BYTES = 32;

/**
 * The 256-entry gear table derived from a repository's secret seed:
 * OKM = HKDF-SHA-256(IKM = seed, salt = empty, info = "ebak/v1/gear", L = 1024),
 * entry i = OKM[4i .. 4i+4) read as a little-endian uint32 (docs/chunker.md, "Gear table").
 * A secret table keeps boundaries, and so chunk sizes, from fingerprinting files across repositories.
 */
export function gearTable(seed: Uint8Array): Uint32Array {
  if (!(seed instanceof Uint8Array) || seed.length !== GEAR_SEED_BYTES) {
    throw new EbakError('USAGE', `gear seed must be ${GEAR_SEED_BYTES} bytes, got ${seed instanceof Uint8Array ? seed.length : typeof seed}`);
  }
  const okm = new DataView(hkdfSync('sha256', seed, new Uint8Array(0), GEAR_INFO, 256 * 4));
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) table[i] = okm.getUint32(4 * i, true);
  return table;
}
