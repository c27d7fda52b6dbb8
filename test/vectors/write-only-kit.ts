/**
 * Shared by test/vectors/make-write-only.ts and the test that checks
 * test/vectors/write-only.json (test/repository/writeonly-vectors.test.ts):
 * the file's shape, its fixed inputs, and the outcome of each reader.
 */
import { readFileSync } from 'node:fs';
import type { ObjectTypeName } from '../../src/repository/format/object.js';
import { sealedKey } from '../../src/repository/format/hpke.js';
import { decodePack } from '../../src/repository/format/pack.js';
import { openBlob } from '../../src/repository/blob.js';
import { parseKeyFile, unwrapKeyFile } from '../../src/repository/format/keyfile.js';
import { Repository } from '../../src/repository/repository.js';
import { decodeCredential, openOwnObject, type WriteOnlyCredential } from '../../src/repository/writeonly/credential.js';
import { FullKeyReader } from '../../src/repository/writeonly/reader.js';
import { MASTER_HEX, outcome, outcomeSync, REPOSITORY_ID_HEX, VECTOR_WRITING, type Edit, type Outcome } from '../repository/vector-kit.js';

export const FILE = new URL('../../../test/vectors/write-only.json', import.meta.url);

const seq = (n: number, from: number) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));

/** The fixed inputs: K and the repository id of the other vectors, a device key, and the ephemeral key material (ekm) of each seal. */
export const INPUTS = {
  master: MASTER_HEX,
  repositoryId: REPOSITORY_ID_HEX,
  deviceKey: seq(32, 0xc0).toString('hex'),
  packEkm: seq(32, 0x40).toString('hex'),
  objectEkm: seq(32, 0x60).toString('hex'),
  password: 'write only device',
};

export const keys = Repository.subKeys(Buffer.from(INPUTS.master, 'hex'));
export const reader = new FullKeyReader(keys, INPUTS.repositoryId);
export const otherReader = new FullKeyReader(Repository.subKeys(Buffer.alloc(32, 0xff)), INPUTS.repositoryId);

/** The credential the inputs make (newCredential's, with the fixed device key). */
export async function fixedCredential(): Promise<WriteOnlyCredential> {
  return {
    config: { id: INPUTS.repositoryId, ...VECTOR_WRITING },
    publicKey: (await reader.keyPair()).publicKey, blobIdKey: keys.blobId, gearSeed: keys.gearSeed, deviceKey: Buffer.from(INPUTS.deviceKey, 'hex'), generation: 0,
  };
}

export interface WriteOnlyVectors {
  inputs: typeof INPUTS;
  /** HKDF(K, "", "write-only") and the X25519 key pair DeriveKeyPair makes of it. */
  keyPair: { seed: string; publicKey: string };
  /** HPKE exports under the fixed ekm: enc (what is stored) and the key. */
  packKey: { ekm: string; enc: string; key: string };
  objectKey: { ekm: string; enc: string; key: string };
  object: { type: ObjectTypeName; payload: string; hex: string; mutations: { name: string; edits: Edit[]; full: Outcome; own: Outcome }[] };
  pack: { hex: string; plaintexts: string[]; mutations: { name: string; edits: Edit[]; otherKey?: boolean; expect: Outcome }[] };
  keyFile: { text: string; bundle: string; mutations: { name: string; set?: { path: string[]; value: unknown }; password?: string; expect: Outcome }[] };
}

export function loadWriteOnlyVectors(): WriteOnlyVectors {
  return JSON.parse(readFileSync(FILE, 'utf8')) as WriteOnlyVectors;
}

/** The full key's and the credential's outcome for an object; "ok" only when the payload is `payload`. */
export async function objectOutcomes(c: WriteOnlyCredential, type: ObjectTypeName, bytes: Buffer, payload: Buffer): Promise<{ full: Outcome; own: Outcome }> {
  const same = (b: Buffer | undefined) => {
    if (b && !b.equals(payload)) throw new Error('an object opened to other bytes');
    return b;
  };
  return {
    full: await outcome(async () => same(await reader.openObject(type, bytes, 'vector object'))),
    own: outcomeSync(() => same(openOwnObject(c, type, bytes, 'vector object'))),
  };
}

/** A key-source-1 pack read whole by a holder of K: its blobs' plaintexts, or the failure. */
export async function packPlaintexts(bytes: Buffer, other = false): Promise<{ expect: Outcome; plaintexts: string[] }> {
  const plaintexts: string[] = [];
  const expect = await outcome(async () => {
    const { key, entries } = await decodePack((other ? otherReader : reader).packKey, bytes, 'vector pack');
    for (const e of entries) plaintexts.push(openBlob(key, keys.blobId, e, bytes.subarray(e.offset, e.offset + e.length), 'vector blob').toString('hex'));
    return true;
  });
  return { expect, plaintexts: expect === 'ok' ? plaintexts : [] };
}

/** A key file's outcome with a password: "ok" only when it opens to the credential `want`. */
export async function keyFileOutcome(text: string, password: string, want: WriteOnlyCredential): Promise<Outcome> {
  return outcome(async () => {
    const opened = await unwrapKeyFile(parseKeyFile(Buffer.from(text), 'vector key'), password, 'vector key');
    if (opened && JSON.stringify(decodeCredential(opened, 'vector key')) !== JSON.stringify(want)) throw new Error('the key file opened to another credential');
    return opened;
  });
}

/** The lock payload both write-only vector generators seal. */
export const LOCK_PAYLOAD = Buffer.from('{"time":"2026-01-02T03:04:05.678Z","hostname":"device","username":"u","pid":7,"exclusive":false,"started":"2026-01-02T03:04:05.678Z"}');

/** The pack and object keys a credential's vectors are sealed with: HPKE to its public key, from the fixed ephemeral inputs. */
export async function vectorKeys(c: WriteOnlyCredential, inputs: { packEkm: string; objectEkm: string }): Promise<{ packKey: { enc: Buffer; key: Buffer }; objectKey: { enc: Buffer; key: Buffer } }> {
  return {
    packKey: await sealedKey(c.publicKey, c.config.id, 'pack', Buffer.from(inputs.packEkm, 'hex')),
    objectKey: await sealedKey(c.publicKey, c.config.id, 'object', Buffer.from(inputs.objectEkm, 'hex')),
  };
}
