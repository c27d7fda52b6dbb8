/**
 * Writes test/vectors/write-only-generation.json (docs/format.md,
 * "Write-only credentials of a rotated repository"): run `npx tsc -p . &&
 * node dist/test/vectors/make-write-only-generation.js`. Keys, encs and the
 * bundle are fixed by the inputs; GCM nonces are fresh at each run. Every
 * outcome is stated by hand here; the file is not written when the code disagrees.
 */
import { hmacSha256 } from '../../src/crypto/index.js';
import { sealBlob } from '../../src/repository/blob.js';
import { encodeSealedObject } from '../../src/repository/format/object.js';
import { BlobType, encodeHeader, encodePrefix, PREFIX_BYTES, writeOnlyKeySource } from '../../src/repository/format/pack.js';
import { encodeCredential } from '../../src/repository/writeonly/credential.js';
import { applyEdits, GeneratorChecks, hex } from '../repository/vector-kit.js';
import { FILE, fixedCredential, INPUTS, keys1, objectOutcomes, packPlaintexts, rotated, unrotated, type GenerationVectors } from './write-only-generation-kit.js';
import { LOCK_PAYLOAD, vectorKeys } from './write-only-kit.js';

const checks = new GeneratorChecks();
const { expectSame } = checks;

const c = await fixedCredential();
const { packKey, objectKey } = await vectorKeys(c, INPUTS);
const payload = LOCK_PAYLOAD;
const object = encodeSealedObject({ objectKey: objectKey.key, enc: objectKey.enc, deviceKey: c.deviceKey, generation: 1 }, 'lock', payload);
const objectMutations = [
  { name: 'key source 1 (generation 0\'s key pair)', edits: [{ op: 'set' as const, at: 7, value: 1 }], rotated: 'AUTH_FAILED', own: 'undefined' },
  { name: 'key source 2 (unassigned)', edits: [{ op: 'set' as const, at: 7, value: 2 }], rotated: 'UNSUPPORTED_VERSION', own: 'UNSUPPORTED_VERSION' },
  { name: 'key source 4 (generation 2: not held)', edits: [{ op: 'set' as const, at: 7, value: 4 }], rotated: 'AUTH_FAILED', own: 'undefined' },
  { name: 'key source 0x80', edits: [{ op: 'set' as const, at: 7, value: 0x80 }], rotated: 'UNSUPPORTED_VERSION', own: 'UNSUPPORTED_VERSION' },
  { name: 'tag bit flipped', edits: [{ op: 'xor' as const, at: -1, mask: 1 }], rotated: 'AUTH_FAILED', own: 'AUTH_FAILED' },
];
for (const m of objectMutations) {
  const got = await objectOutcomes(c, 'lock', applyEdits(object, m.edits), payload);
  expectSame(`object/${m.name}`, { rotated: got.rotated, own: got.own }, { rotated: m.rotated, own: m.own });
}
expectSame('object', await objectOutcomes(c, 'lock', object, payload), { rotated: 'ok', own: 'ok', unrotated: 'AUTH_FAILED' });

const blob = Buffer.from('a blob a write-only credential of generation 1 stored. '.repeat(4));
const id = hmacSha256(c.blobIdKey, blob);
const sealed = sealBlob(packKey.key, BlobType.data, id, blob.length, blob, false);
const prefix = encodePrefix(BlobType.data, writeOnlyKeySource(1), packKey.enc);
const pack = Buffer.concat([prefix, sealed, encodeHeader(packKey.key, prefix, [{ type: BlobType.data, flags: 0, id, offset: PREFIX_BYTES, length: sealed.length, rawLength: blob.length }])]);
const packMutations = [
  { name: 'key source 1 (generation 0\'s key pair)', edits: [{ op: 'set' as const, at: 5, value: 1 }], expect: 'AUTH_FAILED' },
  { name: 'key source 2 (unassigned)', edits: [{ op: 'set' as const, at: 5, value: 2 }], expect: 'UNSUPPORTED_VERSION' },
  { name: 'key source 0x81 (the enc read as a salt for K_1\'s pack subkey)', edits: [{ op: 'set' as const, at: 5, value: 0x81 }], expect: 'AUTH_FAILED' },
];
for (const m of packMutations) expectSame(`pack/${m.name}`, (await packPlaintexts(applyEdits(pack, m.edits), rotated)).expect, m.expect);
expectSame('pack', await packPlaintexts(pack, rotated), { expect: 'ok', plaintexts: [hex(blob)] });
expectSame('pack (generation 0 only)', (await packPlaintexts(pack, unrotated)).expect, 'AUTH_FAILED');

const doc: GenerationVectors = {
  inputs: INPUTS,
  keyPair: { seed: hex(keys1.writeOnly), publicKey: hex(c.publicKey) },
  bundle: encodeCredential(c).toString(),
  object: { type: 'lock', payload: hex(payload), hex: hex(object), mutations: objectMutations, unrotated: 'AUTH_FAILED' },
  pack: { hex: hex(pack), plaintexts: [hex(blob)], mutations: packMutations, unrotated: 'AUTH_FAILED' },
};
checks.write(FILE, doc);
