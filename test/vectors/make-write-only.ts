/**
 * Writes test/vectors/write-only.json (docs/format.md, "Write-only
 * credentials"): run `npx tsc -p . && node dist/test/vectors/make-write-only.js`.
 * Keys, encs and the bundle are fixed by the inputs (K, repository id,
 * device key, ekm); GCM nonces and Argon2 salts are fresh at each run, so
 * the stored object, pack and key file differ at each regeneration while
 * their outcomes do not. Every expected outcome is stated by hand here and
 * the file is not written when the code disagrees.
 */
import { sealBlob } from '../../src/repository/blob.js';
import { wrapInKeyFile } from '../../src/repository/format/keyfile.js';
import { encodeSealedObject } from '../../src/repository/format/object.js';
import { BlobType, encodeHeader, encodePrefix, KeySource, PREFIX_BYTES } from '../../src/repository/format/pack.js';
import { hmacSha256 } from '../../src/crypto/index.js';
import { encodeCredential } from '../../src/repository/writeonly/credential.js';
import { applyEdits, GeneratorChecks, hex, mutateKeyFile, serialiseKeyFile } from '../repository/vector-kit.js';
import { FILE, fixedCredential, INPUTS, keyFileOutcome, keys, LOCK_PAYLOAD, objectOutcomes, packPlaintexts, reader, vectorKeys, type WriteOnlyVectors } from './write-only-kit.js';

const checks = new GeneratorChecks();
const { expectSame } = checks;

const c = await fixedCredential();
const { packKey, objectKey } = await vectorKeys(c, INPUTS);
const payload = LOCK_PAYLOAD;
const object = encodeSealedObject({ objectKey: objectKey.key, enc: objectKey.enc, deviceKey: c.deviceKey }, 'lock', payload);
const both = (full: string, own: string) => ({ full, own });
const objectMutations = [
  { name: 'magic byte flipped', edits: [{ op: 'xor' as const, at: 0, mask: 1 }], ...both('AUTH_FAILED', 'AUTH_FAILED') },
  { name: 'version 3', edits: [{ op: 'set' as const, at: 4, value: 3 }], ...both('UNSUPPORTED_VERSION', 'UNSUPPORTED_VERSION') },
  { name: 'version 1 (read as a full key\'s object: not the credential\'s own)', edits: [{ op: 'set' as const, at: 4, value: 1 }], ...both('AUTH_FAILED', 'undefined') },
  { name: 'type changed to snapshot', edits: [{ op: 'set' as const, at: 5, value: 3 }], ...both('AUTH_FAILED', 'AUTH_FAILED') },
  { name: 'flags bit flipped', edits: [{ op: 'xor' as const, at: 6, mask: 1 }], ...both('AUTH_FAILED', 'undefined') },
  { name: 'key source 0', edits: [{ op: 'set' as const, at: 7, value: 0 }], ...both('UNSUPPORTED_VERSION', 'UNSUPPORTED_VERSION') },
  { name: 'enc bit flipped', edits: [{ op: 'xor' as const, at: 8, mask: 1 }], ...both('AUTH_FAILED', 'undefined') },
  { name: 'enc set to zero (low-order point: the DH output is zero)', edits: Array.from({ length: 32 }, (_, i) => ({ op: 'set' as const, at: 8 + i, value: 0 })), ...both('AUTH_FAILED', 'undefined') },
  { name: 'device wrap bit flipped', edits: [{ op: 'xor' as const, at: 70, mask: 1 }], ...both('AUTH_FAILED', 'undefined') },
  { name: 'body nonce bit flipped', edits: [{ op: 'xor' as const, at: 100, mask: 1 }], ...both('AUTH_FAILED', 'AUTH_FAILED') },
  { name: 'tag bit flipped', edits: [{ op: 'xor' as const, at: -1, mask: 1 }], ...both('AUTH_FAILED', 'AUTH_FAILED') },
  { name: 'cut to the header', edits: [{ op: 'truncate' as const, length: 100 }], ...both('AUTH_FAILED', 'AUTH_FAILED') },
  { name: 'one byte appended', edits: [{ op: 'append' as const, hex: '00' }], ...both('AUTH_FAILED', 'AUTH_FAILED') },
];
for (const m of objectMutations) expectSame(`object/${m.name}`, await objectOutcomes(c, 'lock', applyEdits(object, m.edits), payload), { full: m.full, own: m.own });
expectSame('object', await objectOutcomes(c, 'lock', object, payload), both('ok', 'ok'));

const blob = Buffer.from('a blob a write-only credential stored. '.repeat(4));
const id = hmacSha256(c.blobIdKey, blob);
const sealed = sealBlob(packKey.key, BlobType.data, id, blob.length, blob, false);
const prefix = encodePrefix(BlobType.data, KeySource.writeOnly, packKey.enc);
const pack = Buffer.concat([prefix, sealed, encodeHeader(packKey.key, prefix, [{ type: BlobType.data, flags: 0, id, offset: PREFIX_BYTES, length: sealed.length, rawLength: blob.length }])]);
const packMutations = [
  { name: 'key source 0 (the enc read as a salt for K\'s pack subkey)', edits: [{ op: 'set' as const, at: 5, value: 0 }], expect: 'AUTH_FAILED' },
  { name: 'enc bit flipped', edits: [{ op: 'xor' as const, at: 8, mask: 1 }], expect: 'AUTH_FAILED' },
  { name: 'blob bit flipped', edits: [{ op: 'xor' as const, at: 60, mask: 1 }], expect: 'AUTH_FAILED' },
  { name: 'another master key', edits: [], otherKey: true, expect: 'AUTH_FAILED' },
];
for (const m of packMutations) expectSame(`pack/${m.name}`, (await packPlaintexts(applyEdits(pack, m.edits), m.otherKey)).expect, m.expect);
expectSame('pack', await packPlaintexts(pack), { expect: 'ok', plaintexts: [hex(blob)] });

const keyFile = serialiseKeyFile(await wrapInKeyFile(encodeCredential(c), 'write-only', INPUTS.password, { hostname: 'device', username: 'u' }));
const keyMutations = [
  { name: 'wrong password', password: 'write only devicE', expect: 'undefined' },
  { name: 'version 1 (no write-only kind there)', set: { path: ['version'], value: 1 }, expect: 'CORRUPT' },
  { name: 'kind password (version 2 holds write-only only)', set: { path: ['kind'], value: 'password' }, expect: 'UNSUPPORTED_VERSION' },
  { name: 'kdf replaced by hkdf-sha256', set: { path: ['kdf'], value: { name: 'hkdf-sha256', salt: 'MzQ1Njc4OTo7PD0+P0BBQg==' } }, expect: 'CORRUPT' },
  { name: 'iterations lowered', set: { path: ['kdf', 'iterations'], value: 2 }, expect: 'undefined' },
];
for (const m of keyMutations) expectSame(`key/${m.name}`, await keyFileOutcome(mutateKeyFile(keyFile, m), m.password ?? INPUTS.password, c), m.expect);
expectSame('key', await keyFileOutcome(keyFile, INPUTS.password, c), 'ok');

const doc: WriteOnlyVectors = {
  inputs: INPUTS,
  keyPair: { seed: hex(keys.writeOnly), publicKey: hex((await reader.keyPair()).publicKey) },
  packKey: { ekm: INPUTS.packEkm, enc: hex(packKey.enc), key: hex(packKey.key) },
  objectKey: { ekm: INPUTS.objectEkm, enc: hex(objectKey.enc), key: hex(objectKey.key) },
  object: { type: 'lock', payload: hex(payload), hex: hex(object), mutations: objectMutations },
  pack: { hex: hex(pack), plaintexts: [hex(blob)], mutations: packMutations },
  keyFile: { text: keyFile, bundle: encodeCredential(c).toString(), mutations: keyMutations },
};
checks.write(FILE, doc);
