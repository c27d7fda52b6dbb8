/**
 * Shared by test/vectors/make-rotation.ts (which writes rotation.json) and
 * test/repository/keyring-vectors.test.ts (which checks it): the fixed
 * inputs of the master-key rotation vectors (docs/format.md, "Master-key
 * rotation"), the file's shape, and the outcome of reading each vector
 * with the code (a repository of generation 1 that holds K0 in its keyring).
 */
import { readFileSync } from 'node:fs';
import type { RepoConfig } from '../../src/repository/format/config.js';
import { openConfig, type Keyring } from '../../src/repository/format/keyring.js';
import { KeyGenerations } from '../../src/repository/rotate-keys.js';
import { outcome, outcomeSync, packOutcome, type Edit, type Outcome } from '../repository/vector-kit.js';

export const FILE = new URL('../../../test/vectors/rotation.json', import.meta.url);

/** K0 = 00…1f (the vectors' K), K1 = 40…5f, the repository id 20…3f, a pending key file id a0…bf, a pack salt 60…7f. */
const bytes = (from: number) => Buffer.from(Array.from({ length: 32 }, (_, i) => from + i));
export const INPUTS = { k0: bytes(0x00), k1: bytes(0x40), repositoryId: bytes(0x20).toString('hex'), pending: bytes(0xa0).toString('hex'), packSalt: bytes(0x60) };

export const CONFIG: RepoConfig = {
  version: 1, id: INPUTS.repositoryId, created: '2026-01-02T03:04:05.678Z',
  chunker: { min: 524288, avg: 1048576, max: 8388608 }, compression_level: 3, pack_size: 16777216,
};

/** The keys a holder of K1 reads with: K1 itself and, from the keyring, K0 (and its blob-id key and gear seed). */
export function generations(keyring: Keyring): KeyGenerations {
  return KeyGenerations.of(INPUTS.k1, keyring, INPUTS.repositoryId);
}

export interface Mutated {
  name: string;
  edits: Edit[];
  expect: Outcome;
}

export interface RotationVectors {
  comment: string;
  inputs: { k0: string; k1: string; repository_id: string };
  subkeys: { k1_pack: string; k1_object: string; blob_id_key: string; gear_seed: string };
  keyring: { generation: number; old: { generation: number; key: string }[]; pending: string[]; payload: string };
  config_object: { hex: string; mutations: Mutated[] };
  /** The config object whose keyring version is 2 (the last config mutation). */
  config_keyring_v2: string;
  pack: { hex: string; key_source: number; generation: number; salt: string; per_pack_key: string; blob: string; blob_id: string; mutations: Mutated[] };
  lock_object: { hex: string; payload: string; mutations: Mutated[] };
}

export function loadRotationVectors(): RotationVectors {
  return JSON.parse(readFileSync(FILE, 'utf8')) as RotationVectors;
}

/** Reading the config object with K1 (the keyring's K0 is not asked: the config is K1's). */
export function configOutcome(raw: Buffer, key = INPUTS.k1): Outcome {
  return outcomeSync(() => openConfig(key, raw));
}

export async function packVectorOutcome(gens: KeyGenerations, blobIdKey: Buffer, raw: Buffer): Promise<Outcome> {
  return (await packOutcome(gens.packKey, blobIdKey, raw)).expect;
}

export function lockOutcome(gens: KeyGenerations, raw: Buffer): Promise<Outcome> {
  return outcome(() => gens.openObject('lock', raw, 'vector lock'));
}
