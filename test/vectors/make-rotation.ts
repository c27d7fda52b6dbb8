/**
 * Writes test/vectors/rotation.json (docs/format.md, "Master-key
 * rotation"): run `npx tsc -p . && node dist/test/vectors/make-rotation.js`.
 * The keyring payload, subkeys and per-pack key are fixed by the inputs
 * (K0, K1, repository id, salt); GCM nonces and object salts are fresh at
 * each run, so the sealed config, pack and lock differ at each
 * regeneration while their outcomes do not. Every expected outcome is
 * stated by hand here and the file is not written when the code disagrees.
 */
import { writeFileSync } from 'node:fs';
import { deriveKey, hmacSha256 } from '../../src/crypto/index.js';
import { sealBlob } from '../../src/repository/blob.js';
import { encodeKeyring, sealConfig, type Keyring } from '../../src/repository/format/keyring.js';
import { encodeObject } from '../../src/repository/format/object.js';
import { BlobType, encodeHeader, encodePrefix, keySourceOf, packKeyFor, PREFIX_BYTES } from '../../src/repository/format/pack.js';
import { KeyGenerations } from '../../src/repository/rotate-keys.js';
import { applyEdits } from '../repository/vector-kit.js';
import { CONFIG, configOutcome, FILE, generations, INPUTS, lockOutcome, packVectorOutcome, type Mutated, type RotationVectors } from './rotation-kit.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const problems: string[] = [];
const expectSame = (what: string, got: unknown, want: unknown) => {
  if (got !== want) problems.push(`${what}: got ${String(got)}, want ${String(want)}`);
};
const set = (at: number, value: number) => [{ op: 'set' as const, at, value }];
const xor = (at: number) => [{ op: 'xor' as const, at, mask: 1 }];

const keyring: Keyring = {
  generation: 1, blobIdKey: deriveKey(INPUTS.k0, 'blob-id'), gearSeed: deriveKey(INPUTS.k0, 'gear'),
  old: [{ generation: 0, key: INPUTS.k0 }], pending: [INPUTS.pending],
};
const gens = generations(keyring);
const dropped = generations({ ...keyring, old: [] }); // K1 with its old keys dropped: what --rewrite leaves
const retired = KeyGenerations.of(INPUTS.k0, undefined, INPUTS.repositoryId); // a holder of K0 alone

// ---- the config object of generation 1, carrying the keyring
const config = sealConfig(INPUTS.k1, CONFIG, keyring);
const configMutations: Mutated[] = [
  { name: 'version 1 (read with a 23-byte header)', edits: set(4, 1), expect: 'AUTH_FAILED' },
  { name: 'version 4', edits: set(4, 4), expect: 'UNSUPPORTED_VERSION' },
  { name: 'generation 0', edits: set(7, 0), expect: 'UNSUPPORTED_VERSION' },
  { name: 'generation 128', edits: set(7, 128), expect: 'UNSUPPORTED_VERSION' },
  { name: 'generation 2', edits: set(7, 2), expect: 'AUTH_FAILED' },
  { name: 'type changed to index', edits: set(5, 2), expect: 'AUTH_FAILED' },
  { name: 'salt bit flipped', edits: xor(8), expect: 'AUTH_FAILED' },
  { name: 'tag bit flipped', edits: xor(-1), expect: 'AUTH_FAILED' },
  { name: 'cut to the header', edits: [{ op: 'truncate', length: 24 }], expect: 'AUTH_FAILED' },
  { name: 'keyring version 2 (sealed again around the edited payload)', edits: [], expect: 'UNSUPPORTED_VERSION' },
];
const payload = encodeKeyring(keyring, CONFIG);
const keyringV2 = encodeObject(deriveKey(INPUTS.k1, 'object'), 'config', Buffer.concat([Buffer.from([2]), payload.subarray(1)]), 1);
expectSame('config', configOutcome(config), 'ok');
expectSame('config/the retired key K0', configOutcome(config, INPUTS.k0), 'AUTH_FAILED');
for (const m of configMutations) expectSame(`config/${m.name}`, configOutcome(m.edits.length ? applyEdits(config, m.edits) : keyringV2), m.expect);

// ---- a pack of generation 1 (key source 0x81) with one blob
const salt = INPUTS.packSalt;
const packKey = packKeyFor(deriveKey(INPUTS.k1, 'pack'), salt);
const blob = Buffer.from('a blob written after the rotation. '.repeat(3));
const blobId = hmacSha256(keyring.blobIdKey, blob);
const sealed = sealBlob(packKey, BlobType.data, blobId, blob.length, blob, false);
const prefix = encodePrefix(BlobType.data, keySourceOf(1), salt);
const pack = Buffer.concat([prefix, sealed, encodeHeader(packKey, prefix, [{ type: BlobType.data, flags: 0, id: blobId, offset: PREFIX_BYTES, length: sealed.length, rawLength: blob.length }])]);
const packMutations: Mutated[] = [
  { name: 'key source 0 (read as generation 0: K0\'s pack subkey)', edits: set(5, 0), expect: 'AUTH_FAILED' },
  { name: 'key source 0x82 (a generation the keyring does not hold)', edits: set(5, 0x82), expect: 'AUTH_FAILED' },
  { name: 'key source 0x80', edits: set(5, 0x80), expect: 'UNSUPPORTED_VERSION' },
  { name: 'key source 2', edits: set(5, 2), expect: 'UNSUPPORTED_VERSION' },
  { name: 'salt bit flipped', edits: xor(20), expect: 'AUTH_FAILED' },
  { name: 'blob bit flipped', edits: xor(PREFIX_BYTES + 12), expect: 'AUTH_FAILED' },
];
expectSame('pack', await packVectorOutcome(gens, keyring.blobIdKey, pack), 'ok');
expectSame('pack/after the old keys are dropped', await packVectorOutcome(dropped, keyring.blobIdKey, pack), 'ok');
expectSame('pack/the retired key K0 alone', await packVectorOutcome(retired, keyring.blobIdKey, pack), 'AUTH_FAILED');
for (const m of packMutations) expectSame(`pack/${m.name}`, await packVectorOutcome(gens, keyring.blobIdKey, applyEdits(pack, m.edits)), m.expect);

// ---- a lock of generation 1 (EBKO version 3)
const lockPayload = Buffer.from('{"time":"2026-01-02T03:04:05.678Z","hostname":"h","username":"u","pid":7,"exclusive":true,"started":"2026-01-02T03:04:05.678Z"}');
const lock = encodeObject(deriveKey(INPUTS.k1, 'object'), 'lock', lockPayload, 1);
const lockMutations: Mutated[] = [
  { name: 'generation 0', edits: set(7, 0), expect: 'UNSUPPORTED_VERSION' },
  { name: 'generation 3 (not held)', edits: set(7, 3), expect: 'AUTH_FAILED' },
  { name: 'version 1 (read as generation 0\'s, under K0)', edits: set(4, 1), expect: 'AUTH_FAILED' },
  { name: 'version 2 (read as a write-only credential\'s: the generation byte 1 is its key source, the salt its enc)', edits: set(4, 2), expect: 'AUTH_FAILED' },
  { name: 'tag bit flipped', edits: xor(-1), expect: 'AUTH_FAILED' },
];
expectSame('lock', await lockOutcome(gens, lock), 'ok');
expectSame('lock/the retired key K0 alone', await lockOutcome(retired, lock), 'AUTH_FAILED');
for (const m of lockMutations) expectSame(`lock/${m.name}`, await lockOutcome(gens, applyEdits(lock, m.edits)), m.expect);

if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
const out: RotationVectors = {
  comment: 'Master-key rotation vectors (docs/format.md, "Master-key rotation"): K0 = 00…1f, K1 = 40…5f (generation 1), repository id 20…3f. Written by test/vectors/make-rotation.ts; checked by test/repository/keyring-vectors.test.ts.',
  inputs: { k0: hex(INPUTS.k0), k1: hex(INPUTS.k1), repository_id: INPUTS.repositoryId },
  subkeys: { k1_pack: hex(deriveKey(INPUTS.k1, 'pack')), k1_object: hex(deriveKey(INPUTS.k1, 'object')), blob_id_key: hex(keyring.blobIdKey), gear_seed: hex(keyring.gearSeed) },
  keyring: { generation: 1, old: [{ generation: 0, key: hex(INPUTS.k0) }], pending: [INPUTS.pending], payload: hex(payload) },
  config_object: { hex: hex(config), mutations: configMutations },
  config_keyring_v2: hex(keyringV2),
  pack: { hex: hex(pack), key_source: keySourceOf(1), generation: 1, salt: hex(salt), per_pack_key: hex(packKey), blob: hex(blob), blob_id: hex(blobId), mutations: packMutations },
  lock_object: { hex: hex(lock), payload: hex(lockPayload), mutations: lockMutations },
};
writeFileSync(FILE, `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${FILE.pathname}`);
