// Repository format test vectors (docs/format.md): known answers and mutated
// objects whose expected outcome (an EbakError code, never a message) is named
// in the data files under test/repository/vectors/. Each object is also read by
// a small independent reader written from docs/format.md alone, so the
// document and the code cannot drift apart.
import assert from 'node:assert/strict';
import { createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { hmacSha256 } from '../../src/crypto/index.js';
import { decodeConfig } from '../../src/repository/format/config.js';
import { decodeIndex, decodeIndexEncoded, type IndexFile } from '../../src/repository/format/indexfile.js';
import { ARGON2_DEFAULTS, formatRecoveryCode, generateRecoveryCode, normalizeRecoveryCode } from '../../src/repository/format/keyfile.js';
import { decodeObject } from '../../src/repository/format/object.js';
import { decodePack, objectId, packKeyFor } from '../../src/repository/format/pack.js';
import { FullKeyReader } from '../../src/repository/writeonly/reader.js';
import { decodeSnapshot } from '../../src/repository/format/snapshot.js';
import { decodeTree, encodeTree } from '../../src/repository/format/tree.js';
import { Repository } from '../../src/repository/repository.js';
import { deriveKey } from '../../src/crypto/index.js';
import {
  applyEdits, keyFileOutcome, loadVectors, MASTER_HEX, REPOSITORY_ID_HEX, mutateKeyFile, objectOutcome, outcomeSync, packOutcome,
  type IndexFileVectors, type IndexJson, type KeyFileVectors, type ObjectVector, type PackVector, type PayloadFileVectors,
  type SubkeyFile, type TreeFileVectors, type TreeV2FileVectors, SUPERSEDED_TREE_VECTORS, SUPERSEDED_TREE_V2_OUTCOMES,
} from './vector-kit.js';

const zstd = createRequire(import.meta.url)('zstd-napi') as { decompress(b: Uint8Array): Buffer };
const master = Buffer.from(MASTER_HEX, 'hex');
const keys = Repository.subKeys(master);
const otherKeys = Repository.subKeys(Buffer.alloc(32, 0xff));
const reader = new FullKeyReader(keys, REPOSITORY_ID_HEX);
const otherReader = new FullKeyReader(otherKeys, REPOSITORY_ID_HEX);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');
const sha256hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

// ------------------------------------------------ an independent reader, from docs/format.md only
const hkdf = (ikm: Uint8Array, salt: Uint8Array, label: string) => Buffer.from(hkdfSync('sha256', ikm, salt, `ebak/v1/${label}`, 32));

function gcmOpen(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

function specOpenObject(bytes: Buffer): Buffer {
  const header = bytes.subarray(0, 23);
  assert.equal(header.subarray(0, 4).toString('latin1'), 'EBKO');
  const plain = gcmOpen(hkdf(hkdf(master, Buffer.alloc(0), 'object'), header.subarray(7, 23), 'object'), bytes.subarray(23), header);
  return header[6] === 1 ? zstd.decompress(plain) : plain;
}

function specOpenPack(bytes: Buffer): Buffer[] {
  const prefix = bytes.subarray(0, 40);
  assert.equal(prefix.subarray(0, 4).toString('latin1'), 'EBKP');
  const key = hkdf(hkdf(master, Buffer.alloc(0), 'pack'), prefix.subarray(8, 40), 'pack');
  const headerLen = bytes.readUInt32LE(bytes.length - 4);
  const header = gcmOpen(key, bytes.subarray(bytes.length - 4 - headerLen, bytes.length - 4), Buffer.concat([Buffer.from('ebak/v1/pack-header'), prefix]));
  assert.equal(header[0], 1);
  const out: Buffer[] = [];
  let offset = 40;
  for (let i = 0, n = header.readUInt32LE(1); i < n; i++) {
    const e = header.subarray(5 + 42 * i, 5 + 42 * (i + 1));
    const [type, flags, id, length, rawLength] = [e[0]!, e[1]!, e.subarray(2, 34), e.readUInt32LE(34), e.readUInt32LE(38)];
    const aad = Buffer.alloc(50);
    aad.write('ebak/v1/blob', 'latin1');
    aad[12] = type;
    aad[13] = flags;
    aad.writeUInt32LE(rawLength, 14);
    id.copy(aad, 18);
    const body = gcmOpen(key, bytes.subarray(offset, offset + length), aad);
    const plain = flags & 1 ? zstd.decompress(body) : body;
    assert.equal(plain.length, rawLength);
    assert.deepEqual(createHmac('sha256', hkdf(master, Buffer.alloc(0), 'blob-id')).update(plain).digest(), id);
    out.push(plain);
    offset += length;
  }
  assert.equal(offset, bytes.length - 4 - headerLen);
  return out;
}

// ------------------------------------------------ subkeys, blob ids, object ids
test('subkeys: HKDF-SHA-256 labels from the fixed master key', () => {
  const v = loadVectors<SubkeyFile>('subkeys.json');
  assert.equal(v.master, MASTER_HEX);
  const expected = { blobId: 'blob-id', gearSeed: 'gear', pack: 'pack', object: 'object' } as const;
  for (const [field, label] of Object.entries(expected) as [keyof typeof expected, string][]) {
    assert.equal(hex(keys[field]), v.subkeys[field], field);
    assert.equal(hex(hkdf(master, Buffer.alloc(0), label)), v.subkeys[field], `${field} from the spec`);
  }
  assert.equal(hex(deriveKey(keys.object, 'object', unhex(v.objectKey.salt))), v.objectKey.key);
  assert.equal(hex(packKeyFor(keys.pack, unhex(v.packKey.salt))), v.packKey.key);
  assert.equal(hex(hkdf(Buffer.from(v.recoveryKek.code, 'latin1'), unhex(v.recoveryKek.salt), 'recovery-key')), v.recoveryKek.key);
  assert.equal(v.blobIds.length, 3);
  for (const b of v.blobIds) {
    assert.equal(hex(hmacSha256(keys.blobId, unhex(b.data))), b.id);
    assert.equal(createHmac('sha256', unhex(v.subkeys.blobId)).update(unhex(b.data)).digest('hex'), b.id);
  }
  assert.equal(v.objectIds.length, 2);
  for (const o of v.objectIds) assert.equal(objectId(unhex(o.data)), o.id);
  assert.equal(v.objectIds[0]!.id, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'); // SHA-256("")
});

// ------------------------------------------------ encrypted objects
const objects = loadVectors<{ master: string; objects: ObjectVector[] }>('objects.json').objects;

test('objects: one vector per type, compressed and uncompressed', () => {
  assert.deepEqual(objects.map((o) => o.type), ['config', 'index', 'snapshot', 'lock']);
  assert.deepEqual(new Set(objects.map((o) => o.flags)), new Set([0, 1]));
});

for (const v of objects) {
  test(`objects/${v.name}: decodes to the payload; name is SHA-256; the spec reader agrees`, () => {
    const bytes = unhex(v.hex);
    assert.equal(bytes[6], v.flags);
    assert.equal(hex(decodeObject(keys.object, v.type, bytes, v.name)), v.payload);
    assert.equal(hex(specOpenObject(bytes)), v.payload);
    assert.equal(v.type === 'config' ? 'config' : sha256hex(bytes), v.id);
    const payload = unhex(v.payload);
    if (v.type === 'config') assert.equal(decodeConfig(payload).version, 1);
    if (v.type === 'snapshot') assert.equal(decodeSnapshot(payload, v.name).version, 1);
    if (v.type === 'index') assert.equal(decodeIndex(payload, v.name).packs.length, 2);
    if (v.type === 'lock') assert.equal(typeof JSON.parse(payload.toString()).exclusive, 'boolean');
  });

  test(`objects/${v.name}: ${v.mutations.length} mutations give their named outcome`, () => {
    assert.equal(v.mutations.length, 19);
    for (const m of v.mutations) {
      const got = objectOutcome(m.wrongKey ? otherKeys.object : keys.object, m.decodeAs ?? v.type, applyEdits(unhex(v.hex), m.edits));
      assert.equal(got, m.expect, m.name);
    }
  });
}

// ------------------------------------------------ packs
const packs = loadVectors<{ master: string; packs: PackVector[] }>('packs.json').packs;

for (const v of packs) {
  test(`packs/${v.name}: header, blobs and ids; the spec reader agrees`, async () => {
    const bytes = unhex(v.hex);
    assert.equal(sha256hex(bytes), v.id);
    const { prefix, entries } = await decodePack(reader.packKey, bytes, v.name);
    assert.deepEqual({ kind: prefix.kind, keySource: prefix.keySource, salt: hex(prefix.salt) }, { kind: v.kind, keySource: v.keySource, salt: v.salt });
    assert.deepEqual(entries.map((e) => ({ ...e, id: hex(e.id) })), v.blobs.map(({ plaintext: _, ...b }) => b));
    const read = await packOutcome(reader.packKey, keys.blobId, bytes);
    assert.equal(read.expect, 'ok');
    assert.deepEqual(read.plaintexts.map(hex), v.blobs.map((b) => b.plaintext));
    assert.deepEqual(specOpenPack(bytes).map(hex), v.blobs.map((b) => b.plaintext));
    for (const b of v.blobs) assert.equal(hex(hmacSha256(keys.blobId, unhex(b.plaintext))), b.id);
  });

  test(`packs/${v.name}: ${v.mutations.length} mutations stop at their named stage with their named code`, async () => {
    for (const m of v.mutations) {
      const got = await packOutcome((m.wrongKey ? otherReader : reader).packKey, keys.blobId, applyEdits(unhex(v.hex), m.edits));
      assert.deepEqual({ stage: got.stage, expect: got.expect }, { stage: m.stage, expect: m.expect }, m.name);
    }
  });
}

test('packs: a data pack with two blobs (one compressed) and a tree pack; mutation counts', () => {
  assert.deepEqual(packs.map((p) => [p.kind, p.blobs.length, p.mutations.length]), [[0, 2, 24], [1, 1, 23]]);
  assert.deepEqual(packs[0]!.blobs.map((b) => b.flags), [1, 0]);
  // Key source 1 is read now (write-only credentials): the salt is taken as an HPKE enc, whose key fails the header.
  assert.ok(packs.every((p) => p.mutations.some((m) => m.name.includes('key source 1') && m.stage === 'decodePack' && m.expect === 'AUTH_FAILED')));
});

// ------------------------------------------------ index payloads
const toJson = (idx: IndexFile): IndexJson => ({
  packs: idx.packs.map((p) => ({ id: hex(p.id), salt: hex(p.salt), kind: p.kind, keySource: p.keySource, blobs: p.blobs.map((b) => ({ ...b, id: hex(b.id) })) })),
  superseded: idx.superseded.map(hex),
});

test('index payloads decode to the expected JSON; invalid ones are CORRUPT', () => {
  const v = loadVectors<IndexFileVectors>('index.json');
  assert.equal(v.valid.length, 3);
  assert.equal(v.invalid.length, 7);
  // decodeIndexEncoded (prune's: blob entries kept as bytes) reads them as decodeIndex does.
  for (const decode of [decodeIndex, decodeIndexEncoded]) {
    for (const c of v.valid) assert.deepEqual(toJson(decode(unhex(c.payload), c.name)), c.decoded, c.name);
    for (const c of v.invalid) assert.equal(outcomeSync(() => decode(unhex(c.payload), c.name)), c.expect, c.name);
  }
  // The index names the packs of packs.json, at the offsets their headers give.
  assert.deepEqual(v.valid[2]!.decoded.packs.map((p) => p.id), packs.map((p) => p.id));
});

// ------------------------------------------------ trees
const trees = loadVectors<TreeFileVectors & { master: string }>('trees.json');

test('trees: exact bytes and blob ids of encodeTree, entries in UTF-8 byte order', () => {
  assert.equal(trees.valid.length, 3);
  for (const t of trees.valid) {
    const bytes = encodeTree(t.nodes, 1);
    assert.equal(bytes.toString('utf8'), t.bytes, t.name);
    assert.equal(hex(hmacSha256(keys.blobId, bytes)), t.blobId, t.name);
    const names = decodeTree(bytes, t.name).map((n) => Buffer.from(n.name));
    for (let i = 1; i < names.length; i++) assert.ok(Buffer.compare(names[i - 1]!, names[i]!) < 0, t.name);
  }
  assert.deepEqual(decodeTree(Buffer.from(trees.valid[1]!.bytes), 'x').map((n) => n.name), ['B', 'a.txt', '\uFF61', '\u{1F600}']);
  // The tree pack of packs.json carries exactly this tree.
  assert.equal(packs[1]!.blobs[0]!.plaintext, hex(Buffer.from(trees.valid[1]!.bytes)));
});

test('trees: invalid trees are refused with their named code', () => {
  assert.equal(trees.invalid.length, 39);
  assert.equal(trees.invalid.filter((t) => t.expect === 'UNSAFE_PATH').length, 7);
  for (const t of trees.invalid) {
    if (SUPERSEDED_TREE_VECTORS.has(t.name)) assert.deepEqual(decodeTree(Buffer.from(t.json), 'vector'), [], t.name);
    else assert.equal(outcomeSync(() => decodeTree(Buffer.from(t.json), 'vector')), t.expect, t.name);
  }
});

const treesV2 = loadVectors<TreeV2FileVectors & { master: string }>('trees-v2.json');

test('trees v2: names and targets as bytes, special files, xattrs; decode and encode give back the exact bytes', () => {
  assert.equal(treesV2.valid.length, 4);
  for (const t of treesV2.valid) {
    const nodes = decodeTree(Buffer.from(t.bytes), t.name);
    assert.deepEqual(nodes.map((n) => hex(n.rawName ?? Buffer.from(n.name))), t.names, t.name);
    const bytes = encodeTree(nodes);
    assert.equal(bytes.toString('utf8'), t.bytes, t.name);
    assert.equal(hex(hmacSha256(keys.blobId, bytes)), t.blobId, t.name);
  }
  const [, names, special, xattrs] = treesV2.valid.map((t) => decodeTree(Buffer.from(t.bytes), t.name));
  // "a\xff" and "a\uFFFD" are two entries; the raw one keeps its bytes, the target too.
  assert.deepEqual(names!.map((n) => n.name), ['a\uFFFD', 'a\uFFFD', 'l']);
  assert.equal(names![1]!.rawName!.toString('hex'), '61ff');
  assert.equal(names![2]!.rawTarget!.toString('hex'), '74fe');
  assert.deepEqual(special!.map((n) => [n.type, n.rdev]), [['fifo', undefined], ['chardev', '259'], ['blockdev', '2048'], ['socket', undefined]]);
  assert.deepEqual(xattrs![0]!.xattrs!.map((x) => x.name.toString('latin1')), ['security.capability', 'system.posix_acl_access', 'user.\xff']);
  assert.equal(xattrs![0]!.xattrs![2]!.value.length, 0);
  // Version 1 cannot hold any of this: encoding such a node at version 1 is refused.
  for (const n of [names![1]!, names![2]!, special![0]!, xattrs![0]!]) assert.equal(outcomeSync(() => encodeTree([n], 1)), 'UNSUPPORTED_VERSION', n.name);
});

test('trees v2: invalid trees are refused with their named code', () => {
  assert.equal(treesV2.invalid.length, 24);
  assert.equal(treesV2.invalid.filter((t) => t.expect === 'UNSAFE_PATH').length, 2);
  for (const t of treesV2.invalid) assert.equal(outcomeSync(() => decodeTree(Buffer.from(t.json), 'vector')), SUPERSEDED_TREE_V2_OUTCOMES.get(t.name) ?? t.expect, t.name);
});

// ------------------------------------------------ config and snapshot payloads
test('config and snapshot payloads: valid ones decode, the rest give their named code', () => {
  const v = loadVectors<PayloadFileVectors>('payloads.json');
  assert.equal(v.config.length, 10);
  assert.equal(v.snapshot.length, 12);
  for (const c of v.config) assert.equal(outcomeSync(() => decodeConfig(Buffer.from(c.json))), c.expect, c.name);
  for (const s of v.snapshot) assert.equal(outcomeSync(() => decodeSnapshot(Buffer.from(s.json), 'vector')), s.expect, s.name);
});

// ------------------------------------------------ key files (Argon2id ~150 ms per call: 6 calls here)
const keyFiles = loadVectors<KeyFileVectors>('keys.json');

test('key files: unwrap gives the master key; the name is SHA-256 of the bytes', async () => {
  assert.equal(keyFiles.master, MASTER_HEX);
  assert.deepEqual(keyFiles.files.map((f) => JSON.parse(f.text).kind), ['password', 'recovery']);
  const kdf = JSON.parse(keyFiles.files[0]!.text).kdf;
  assert.deepEqual({ m: kdf.memory_kib, t: kdf.iterations, p: kdf.parallelism }, { m: ARGON2_DEFAULTS.memory_kib, t: ARGON2_DEFAULTS.iterations, p: ARGON2_DEFAULTS.parallelism });
  for (const f of keyFiles.files) {
    assert.equal(sha256hex(Buffer.from(f.text)), f.id, f.name);
    assert.equal(await keyFileOutcome(f.text, f.secret, master), 'ok', f.name);
  }
});

test('key files: wrong secrets and tampered fields never unwrap', async () => {
  assert.deepEqual(keyFiles.files.map((f) => f.mutations.length), [14, 10]);
  for (const f of keyFiles.files) {
    for (const m of f.mutations) {
      const text = mutateKeyFile(f.text, m);
      assert.equal(await keyFileOutcome(text, m.secret ?? f.secret, master), m.expect, `${f.name}: ${m.name}`);
      // What still opens must differ in bytes, so its name no longer matches (listKeys reports it damaged).
      if (m.expect === 'ok') assert.notEqual(sha256hex(Buffer.from(text)), f.id, m.name);
    }
  }
});

test('recovery codes: 64 digits, shown in groups of four, normalised before use', () => {
  const code = keyFiles.files[1]!.secret;
  assert.match(code, /^[0-9]{64}$/);
  assert.equal(normalizeRecoveryCode(formatRecoveryCode(code)), code);
  assert.equal(normalizeRecoveryCode(` ${formatRecoveryCode(code).replaceAll('-', ' ')} `), code);
  assert.throws(() => normalizeRecoveryCode(code.slice(1)), { code: 'USAGE' });
  assert.throws(() => normalizeRecoveryCode(code.slice(1) + 'a'), { code: 'USAGE' });
  assert.match(generateRecoveryCode(), /^[0-9]{64}$/);
});
