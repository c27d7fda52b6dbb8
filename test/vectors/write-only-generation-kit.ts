/**
 * Shared by test/vectors/make-write-only-generation.ts and
 * test/vectors/write-only-generation.test.ts: a write-only credential of
 * master-key generation 1 (docs/format.md, "Write-only credentials of a
 * rotated repository"): its fixed inputs, the readers (a full key holding
 * generations 0 and 1, and one holding generation 0 only), and each
 * reader's outcome. Key source 2 + g; generation 0's vectors are
 * write-only.json's, unchanged.
 */
import { readFileSync } from 'node:fs';
import { decodePack } from '../../src/repository/format/pack.js';
import { openBlob } from '../../src/repository/blob.js';
import type { ObjectTypeName } from '../../src/repository/format/object.js';
import { deriveSubKeys, KeyGenerations } from '../../src/repository/rotate-keys.js';
import { openOwnObject, type WriteOnlyCredential } from '../../src/repository/writeonly/credential.js';
import { MASTER_HEX, outcome, outcomeSync, REPOSITORY_ID_HEX, VECTOR_WRITING, type Edit, type Outcome } from '../repository/vector-kit.js';

export const FILE = new URL('../../../test/vectors/write-only-generation.json', import.meta.url);

const seq = (n: number, from: number) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));

/** K of generation 0 (the other vectors'), K of generation 1, the repository id, a device key, the ekm of each seal. */
export const INPUTS = {
  master0: MASTER_HEX,
  master1: seq(32, 0xa0).toString('hex'),
  repositoryId: REPOSITORY_ID_HEX,
  deviceKey: seq(32, 0xc0).toString('hex'),
  packEkm: seq(32, 0x40).toString('hex'),
  objectEkm: seq(32, 0x60).toString('hex'),
};

const k0 = Buffer.from(INPUTS.master0, 'hex');
const k1 = Buffer.from(INPUTS.master1, 'hex');
const shared = deriveSubKeys(k0);
export const keys1 = deriveSubKeys(k1, { blobIdKey: shared.blobId, gearSeed: shared.gearSeed });
/** A full key after one rotation (generation 1, generation 0 kept) and one never rotated (generation 0 only). */
export const rotated = KeyGenerations.of(k1, { generation: 1, blobIdKey: shared.blobId, gearSeed: shared.gearSeed, old: [{ generation: 0, key: k0 }], pending: [] }, INPUTS.repositoryId);
export const unrotated = KeyGenerations.of(k0, undefined, INPUTS.repositoryId);

export async function fixedCredential(): Promise<WriteOnlyCredential> {
  return {
    config: { id: INPUTS.repositoryId, ...VECTOR_WRITING },
    publicKey: (await rotated.keyPair()).publicKey, blobIdKey: shared.blobId, gearSeed: shared.gearSeed, deviceKey: Buffer.from(INPUTS.deviceKey, 'hex'), generation: 1,
  };
}

export interface GenerationVectors {
  inputs: typeof INPUTS;
  /** HKDF(K_1, "", "write-only") and the public key of its key pair. */
  keyPair: { seed: string; publicKey: string };
  bundle: string;
  object: { type: ObjectTypeName; payload: string; hex: string; mutations: { name: string; edits: Edit[]; rotated: Outcome; own: Outcome }[]; unrotated: Outcome };
  pack: { hex: string; plaintexts: string[]; mutations: { name: string; edits: Edit[]; expect: Outcome }[]; unrotated: Outcome };
}

export function loadGenerationVectors(): GenerationVectors {
  return JSON.parse(readFileSync(FILE, 'utf8')) as GenerationVectors;
}

/** The rotated full key's and the credential's outcome for an object ("ok" only when it opens to `payload`); and a full key of generation 0 only. */
export async function objectOutcomes(c: WriteOnlyCredential, type: ObjectTypeName, bytes: Buffer, payload: Buffer): Promise<{ rotated: Outcome; own: Outcome; unrotated: Outcome }> {
  const same = (b: Buffer | undefined) => {
    if (b && !b.equals(payload)) throw new Error('an object opened to other bytes');
    return b;
  };
  return {
    rotated: await outcome(async () => same(await rotated.openObject(type, bytes, 'vector object'))),
    own: outcomeSync(() => same(openOwnObject(c, type, bytes, 'vector object'))),
    unrotated: await outcome(async () => same(await unrotated.openObject(type, bytes, 'vector object'))),
  };
}

/** A pack read whole by a full key: its blobs' plaintexts, or the failure. */
export async function packPlaintexts(bytes: Buffer, reader: KeyGenerations): Promise<{ expect: Outcome; plaintexts: string[] }> {
  const plaintexts: string[] = [];
  const expect = await outcome(async () => {
    const { key, entries } = await decodePack(reader.packKey, bytes, 'vector pack');
    for (const e of entries) plaintexts.push(openBlob(key, shared.blobId, e, bytes.subarray(e.offset, e.offset + e.length), 'vector blob').toString('hex'));
    return true;
  });
  return { expect, plaintexts: expect === 'ok' ? plaintexts : [] };
}
