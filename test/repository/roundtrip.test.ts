// Round trips and fuzzing of every repository parser of untrusted bytes
// (docs/format.md). Parse → serialise must give back the same bytes, so no
// format has two encodings of one value; and a modified authenticated object
// must always fail with an EbakError: never another exception, never data.
import assert from 'node:assert/strict';
import { createDecipheriv } from 'node:crypto';
import { test } from 'node:test';
import { EbakError } from '../../src/errors.js';
import { decodeConfig, encodeConfig } from '../../src/repository/format/config.js';
import { decodeIndex, decodeIndexEncoded, encodeIndex } from '../../src/repository/format/indexfile.js';
import { parseKeyFile } from '../../src/repository/format/keyfile.js';
import { decodeObject, encodeObject } from '../../src/repository/format/object.js';
import { decodePack, encodeHeader, PREFIX_BYTES } from '../../src/repository/format/pack.js';
import { FullKeyReader } from '../../src/repository/writeonly/reader.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/repository/format/snapshot.js';
import { decodeTree, encodeNode, encodeTree, sameNode, type TreeNode } from '../../src/repository/format/tree.js';
import { Repository } from '../../src/repository/repository.js';
import {
  applyEdits, keyFileOutcome, loadVectors, MASTER_HEX, REPOSITORY_ID_HEX, objectOutcome, outcomeSync, packOutcome,
  type Edit, type IndexFileVectors, type KeyFileVectors, type ObjectVector, type PackVector, type PayloadFileVectors, type TreeFileVectors, type TreeV2FileVectors,
} from './vector-kit.js';

const master = Buffer.from(MASTER_HEX, 'hex');
const keys = Repository.subKeys(master);
const reader = new FullKeyReader(keys, REPOSITORY_ID_HEX);
const unhex = (s: string) => Buffer.from(s, 'hex');
const objects = loadVectors<{ objects: ObjectVector[] }>('objects.json').objects;
const packs = loadVectors<{ packs: PackVector[] }>('packs.json').packs;
const indexes = loadVectors<IndexFileVectors>('index.json');
const trees = loadVectors<TreeFileVectors>('trees.json');
const payloads = loadVectors<PayloadFileVectors>('payloads.json');
const keyFiles = loadVectors<KeyFileVectors>('keys.json');

// ------------------------------------------------ encode → decode → encode
test('round trip: index payloads', () => {
  assert.equal(indexes.valid.length, 3);
  for (const decode of [decodeIndex, decodeIndexEncoded])
    for (const v of indexes.valid) assert.equal(encodeIndex(decode(unhex(v.payload), v.name)).toString('hex'), v.payload, v.name);
});

test('round trip: trees (canonical bytes in, the same bytes out)', () => {
  assert.equal(trees.valid.length, 3);
  for (const v of trees.valid) assert.equal(encodeTree(decodeTree(Buffer.from(v.bytes), v.name), 1).toString(), v.bytes, v.name);
});

test('round trip: snapshots and configs', () => {
  const snaps = payloads.snapshot.filter((s) => s.expect === 'ok');
  const configs = payloads.config.filter((c) => c.expect === 'ok');
  assert.deepEqual([snaps.length, configs.length], [3, 1]);
  for (const s of snaps) assert.equal(encodeSnapshot(decodeSnapshot(Buffer.from(s.json), s.name)).toString(), s.json, s.name);
  for (const c of configs) assert.equal(encodeConfig(decodeConfig(Buffer.from(c.json))).toString(), c.json, c.name);
});

test('round trip: encrypted objects of every type (fresh salt and nonce, same payload)', () => {
  assert.equal(objects.length, 4);
  for (const v of objects) {
    const again = encodeObject(keys.object, v.type, unhex(v.payload));
    assert.notEqual(again.toString('hex'), v.hex, 'a fresh salt and nonce each time');
    assert.equal(again[6], v.flags, 'the same compression decision');
    assert.equal(decodeObject(keys.object, v.type, again, v.name).toString('hex'), v.payload);
  }
});

test('round trip: pack headers (decode → encode → decode gives the same header plaintext)', async () => {
  assert.equal(packs.length, 2);
  for (const v of packs) {
    const bytes = unhex(v.hex);
    const { key, entries } = await decodePack(reader.packKey, bytes, v.name);
    const headerStart = bytes.length - 4 - bytes.readUInt32LE(bytes.length - 4);
    const rebuilt = Buffer.concat([bytes.subarray(0, headerStart), encodeHeader(key, bytes.subarray(0, PREFIX_BYTES), entries)]);
    assert.deepEqual((await decodePack(reader.packKey, rebuilt, v.name)).entries, entries);
    assert.deepEqual(headerPlaintext(key, rebuilt), headerPlaintext(key, bytes));
    assert.equal((await packOutcome(reader.packKey, keys.blobId, rebuilt)).expect, 'ok');
  }
});

function headerPlaintext(key: Buffer, pack: Buffer): Buffer {
  const end = pack.length - 4;
  const sealed = pack.subarray(end - pack.readUInt32LE(end), end);
  const d = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  d.setAAD(Buffer.concat([Buffer.from('ebak/v1/pack-header'), pack.subarray(0, PREFIX_BYTES)]));
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(12, sealed.length - 16)), d.final()]);
}

// ------------------------------------------------ fuzzing
/** mulberry32: a small seeded generator, so a failure reproduces exactly. */
function rng(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

/** A random change that certainly alters the bytes: bit flips, a byte set, a cut, an append. */
function randomEdit(r: (n: number) => number, len: number): Edit[] {
  switch (r(4)) {
    case 0: return [{ op: 'xor', at: r(len), mask: 1 << r(8) }];
    case 1: return Array.from({ length: 1 + r(4) }, () => ({ op: 'xor' as const, at: r(len), mask: 1 + r(255) }));
    case 2: return [{ op: 'truncate', length: r(len) }];
    default: return [{ op: 'append', hex: Buffer.from(Array.from({ length: 1 + r(8) }, () => r(256))).toString('hex') }];
  }
}

function mutants(bytes: Buffer, seed: number, count: number): Buffer[] {
  const r = rng(seed);
  const out: Buffer[] = [];
  while (out.length < count) {
    const m = applyEdits(bytes, randomEdit(r, bytes.length));
    if (!m.equals(bytes)) out.push(m); // several xors can cancel out
  }
  return out;
}

/** Every single-bit flip and every truncation: exhaustive where the object is small. */
function exhaustive(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) for (let bit = 0; bit < 8; bit++) out.push(applyEdits(bytes, [{ op: 'xor', at: i, mask: 1 << bit }]));
  for (let n = 0; n < bytes.length; n++) out.push(bytes.subarray(0, n));
  return out;
}

const FAILURE = new Set(['AUTH_FAILED', 'UNSUPPORTED_VERSION', 'CORRUPT']);

test('fuzz: every single-bit flip and truncation of each encrypted object fails with an EbakError', () => {
  let n = 0;
  for (const v of objects) {
    for (const m of exhaustive(unhex(v.hex))) {
      const got = objectOutcome(keys.object, v.type, m); // rethrows anything but an EbakError
      assert.ok(FAILURE.has(got), `${v.name}: a modified object gave ${got}`);
      n++;
    }
  }
  assert.equal(n, objects.reduce((s, v) => s + (v.hex.length / 2) * 9, 0));
});

test('fuzz: 2,000 seeded random edits of encrypted objects (seed 0xeba1)', () => {
  for (const [i, v] of objects.entries()) {
    for (const m of mutants(unhex(v.hex), 0xeba1 + i, 500)) assert.ok(FAILURE.has(objectOutcome(keys.object, v.type, m)), v.name);
  }
});

test('fuzz: every single-bit flip and truncation of each pack fails, at the header or at a blob', async () => {
  for (const v of packs) {
    const all = exhaustive(unhex(v.hex));
    assert.equal(all.length, (v.hex.length / 2) * 9);
    for (const m of all) {
      const got = await packOutcome(reader.packKey, keys.blobId, m);
      assert.ok(FAILURE.has(got.expect) && got.plaintexts.length === 0, `${v.name}: a modified pack gave ${got.expect}`);
    }
  }
});

test('fuzz: 1,000 seeded random edits of packs (seed 0xeba2)', async () => {
  for (const [i, v] of packs.entries()) {
    for (const m of mutants(unhex(v.hex), 0xeba2 + i, 500)) assert.ok(FAILURE.has((await packOutcome(reader.packKey, keys.blobId, m)).expect), v.name);
  }
});

test('fuzz: random garbage is never taken for an object or a pack', async () => {
  const r = rng(0xeba3);
  for (let i = 0; i < 500; i++) {
    const junk = Buffer.from(Array.from({ length: r(300) }, () => r(256)));
    if (i % 2) junk.write('EBKO\x01\x03', 'latin1'); // get past the magic and version checks
    assert.ok(FAILURE.has(objectOutcome(keys.object, 'snapshot', junk)));
    if (i % 2) junk.write('EBKP\x01\x00\x00', 'latin1');
    assert.ok(FAILURE.has((await packOutcome(reader.packKey, keys.blobId, junk)).expect));
  }
});

// Payload parsers run only on authenticated bytes, but must still never throw anything but an EbakError.
test('fuzz: payload parsers (index, tree, snapshot, config) throw only EbakErrors (seed 0xeba4)', () => {
  const parsers: [Buffer, (b: Buffer) => unknown][] = [
    ...indexes.valid.map((v): [Buffer, (b: Buffer) => unknown] => [unhex(v.payload), (b) => decodeIndex(b, 'fuzz')]),
    ...trees.valid.map((v): [Buffer, (b: Buffer) => unknown] => [Buffer.from(v.bytes), (b) => decodeTree(b, 'fuzz')]),
    [Buffer.from(payloads.snapshot[1]!.json), (b) => decodeSnapshot(b, 'fuzz')],
    [Buffer.from(payloads.config[0]!.json), (b) => decodeConfig(b)],
    ...indexes.valid.map((v): [Buffer, (b: Buffer) => unknown] => [unhex(v.payload), (b) => decodeIndexEncoded(b, 'fuzz')]),
  ];
  assert.equal(parsers.length, 11);
  let refused = 0;
  for (const [i, [bytes, parse]] of parsers.entries()) {
    for (const m of mutants(bytes, 0xeba4 + i, 300)) if (outcomeSync(() => parse(m)) !== 'ok') refused++; // other exceptions propagate
  }
  assert.ok(refused > parsers.length * 100, `only ${refused} mutants refused`);
});

test('fuzz: the version-2 tree parser throws only EbakErrors; what it accepts encodes and decodes back to the same nodes (seed 0x7e2)', () => {
  const v2 = loadVectors<TreeV2FileVectors>('trees-v2.json');
  assert.equal(v2.valid.length, 4);
  let refused = 0;
  for (const [i, v] of v2.valid.entries()) {
    for (const m of mutants(Buffer.from(v.bytes), 0x7e2 + i, 300)) {
      let nodes;
      try {
        nodes = decodeTree(m, 'fuzz');
      } catch (e) {
        assert.ok(e instanceof EbakError, String(e));
        refused++;
        continue;
      }
      assert.deepEqual(decodeTree(encodeTree(nodes), 'fuzz'), nodes);
    }
  }
  assert.ok(refused > 300, `only ${refused} mutants refused`);
});

test('fuzz: every single-bit flip of the recovery key file either fails or leaves the authenticated fields intact', async () => {
  const f = keyFiles.files.find((k) => k.name.startsWith('recovery'))!;
  const original = authenticated(f.text)!;
  const bytes = Buffer.from(f.text);
  const seen = { ok: 0, undefined: 0, error: 0 };
  for (const m of exhaustive(bytes)) {
    const got = await keyFileOutcome(m.toString('utf8'), f.secret, master);
    if (got === 'ok') {
      seen.ok++;
      assert.deepEqual(authenticated(m.toString('utf8')), original, 'an altered authenticated field still unwrapped');
    } else if (got === 'undefined') seen.undefined++;
    else {
      assert.ok(FAILURE.has(got), got);
      seen.error++;
    }
  }
  assert.equal(seen.ok + seen.undefined + seen.error, bytes.length * 9);
  assert.ok(seen.undefined > 0 && seen.error > 0);
});

/** What the key file's AEAD covers: version, kind, kdf (in the AAD) and the wrapped key's bytes. */
function authenticated(text: string): unknown {
  try {
    const f = parseKeyFile(Buffer.from(text, 'utf8'), 'fuzz');
    return JSON.stringify([f.version, f.kind, f.kdf, Buffer.from(f.data, 'base64').toString('hex')]);
  } catch (e) {
    if (e instanceof EbakError) return undefined;
    throw e;
  }
}

test('sameNode is true exactly when two nodes encode the same: each field encodeNode writes tells them apart', () => {
  const file: TreeNode = {
    name: 'f', type: 'file', mode: 0o644, uid: 1, gid: 2, mtime: '10', ctime: '11', inode: '12', dev: '13', links: 1,
    size: 3, content: ['a'.repeat(64)], xattrs: [{ name: Buffer.from('user.a'), value: Buffer.from('1') }],
  };
  const link: TreeNode = { ...file, type: 'symlink', size: undefined, content: undefined, target: 't', rawName: Buffer.from([0xff]) };
  const dev: TreeNode = { ...file, type: 'chardev', size: undefined, content: undefined, rdev: '5' };
  const dir: TreeNode = { ...file, type: 'dir', size: undefined, content: undefined, subtree: 'b'.repeat(64) };
  const variants: [TreeNode, Partial<TreeNode>][] = [
    [file, { name: 'g' }], [file, { mode: 0o600 }], [file, { uid: 3 }], [file, { gid: 3 }], [file, { mtime: '9' }],
    [file, { ctime: '9' }], [file, { inode: '9' }], [file, { dev: '9' }], [file, { links: 2 }], [file, { size: 4 }],
    [file, { content: ['c'.repeat(64)] }], [file, { content: [...file.content!, 'c'.repeat(64)] }], [file, { xattrs: undefined }],
    [file, { xattrs: [{ name: Buffer.from('user.a'), value: Buffer.from('2') }] }], [file, { type: 'socket', size: undefined, content: undefined }],
    [link, { target: 'u' }], [link, { rawName: Buffer.from([0xfe]) }], [link, { rawTarget: Buffer.from([0xfe]) }],
    [dev, { rdev: '6' }], [dir, { subtree: 'c'.repeat(64) }],
  ];
  for (const base of [file, link, dev, dir]) {
    assert.ok(sameNode(base, { ...base, content: base.content && [...base.content], xattrs: base.xattrs?.map((x) => ({ ...x })) }));
  }
  for (const [base, change] of variants) {
    const other = { ...base, ...change };
    assert.equal(sameNode(base, other), false, JSON.stringify(Object.keys(change)));
    assert.notEqual(encodeNode(base), encodeNode(other), 'the change is one the encoding shows');
  }
});
