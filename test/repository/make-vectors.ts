/**
 * Regenerates test/repository/vectors/*.json with the real encoders. Not a
 * test: run it by hand only when the repository format changes (a new format
 * version, docs/format.md change log):
 *   npx tsc -p . && node dist/test/repository/make-vectors.js
 *
 * Encryption draws fresh salts and nonces, so every run writes different
 * ciphertext; the expected plaintexts, ids and outcomes stay the same.
 * Every mutation's expected outcome is written here by hand and checked
 * against the real decoder before anything is written: the generator refuses
 * to record an outcome nobody intended.
 */
import { writeFileSync } from 'node:fs';
import { compressIfSmaller } from '../../src/compress/index.js';
import { deriveKey, hmacSha256, sha256 } from '../../src/crypto/index.js';
import { sealBlob } from '../../src/repository/blob.js';
import { encodeConfig, REPO_VERSION, type RepoConfig } from '../../src/repository/format/config.js';
import { encodeIndex, type IndexFile } from '../../src/repository/format/indexfile.js';
import { createKeyFile, normalizeRecoveryCode, type KeyFile } from '../../src/repository/format/keyfile.js';
import { encodeObject, type ObjectTypeName } from '../../src/repository/format/object.js';
import { BlobType, encodeHeader, encodePrefix, KeySource, objectId, packKeyFor, PREFIX_BYTES, type BlobEntry } from '../../src/repository/format/pack.js';
import { encodeSnapshot, type Snapshot } from '../../src/repository/format/snapshot.js';
import { encodeTree, type TreeNode } from '../../src/repository/format/tree.js';
import { Repository } from '../../src/repository/repository.js';
import { FullKeyReader } from '../../src/repository/writeonly/reader.js';
import {
  applyEdits, keyFileOutcome, MASTER_HEX, REPOSITORY_ID_HEX, mutateKeyFile, objectOutcome, outcomeSync, packOutcome, serialiseKeyFile, VECTOR_DIR,
  type BlobVector, type IndexFileVectors, type IndexJson, type KeyFileVector, type KeyFileVectors, type ObjectVector,
  type PackVector, type PayloadFileVectors, type SubkeyFile, type TreeFileVectors, type TreeV2FileVectors, SUPERSEDED_TREE_VECTORS, SUPERSEDED_TREE_V2_OUTCOMES, VECTOR_WRITING,
} from './vector-kit.js';
import { decodeConfig } from '../../src/repository/format/config.js';
import { decodeIndex } from '../../src/repository/format/indexfile.js';
import { decodeSnapshot } from '../../src/repository/format/snapshot.js';
import { decodeTree } from '../../src/repository/format/tree.js';

const master = Buffer.from(MASTER_HEX, 'hex');
const keys = Repository.subKeys(master);
const otherKeys = Repository.subKeys(Buffer.alloc(32, 0xff));
const reader = new FullKeyReader(keys, REPOSITORY_ID_HEX);
const otherReader = new FullKeyReader(otherKeys, REPOSITORY_ID_HEX);
const seq = (n: number, from: number) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function write(name: string, doc: unknown): void {
  writeFileSync(new URL(name, VECTOR_DIR), JSON.stringify(doc, null, 1) + '\n');
  console.log(`wrote ${name}`);
}

function expectSame(what: string, got: unknown, want: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, intended ${JSON.stringify(want)}`);
}

// ---------------------------------------------------------------- subkeys
const RECOVERY_CODE = normalizeRecoveryCode('3141-5926-5358-9793-2384-6264-3383-2795-0288-4197-1693-9937-5105-8209-7494-4592');

function subkeyVectors(): SubkeyFile {
  const objectSalt = seq(16, 0xa0);
  const packSalt = seq(32, 0x40);
  const recoverySalt = seq(16, 0xc0);
  const blobInputs = [Buffer.alloc(0), Buffer.from('abc'), seq(1000, 0)];
  return {
    master: MASTER_HEX,
    subkeys: { blobId: hex(keys.blobId), gearSeed: hex(keys.gearSeed), pack: hex(keys.pack), object: hex(keys.object) },
    objectKey: { salt: hex(objectSalt), key: hex(deriveKey(keys.object, 'object', objectSalt)) },
    packKey: { salt: hex(packSalt), key: hex(packKeyFor(keys.pack, packSalt)) },
    recoveryKek: { code: RECOVERY_CODE, salt: hex(recoverySalt), key: hex(deriveKey(Buffer.from(RECOVERY_CODE), 'recovery-key', recoverySalt)) },
    blobIds: blobInputs.map((d) => ({ data: hex(d), id: hex(hmacSha256(keys.blobId, d)) })),
    objectIds: [Buffer.alloc(0), Buffer.from('abc')].map((d) => ({ data: hex(d), id: objectId(d) })),
  };
}

// ---------------------------------------------------------------- payloads
const TREE_ID = hex(hmacSha256(keys.blobId, Buffer.from('a tree')));
const CONFIG: RepoConfig = { version: REPO_VERSION, id: hex(seq(32, 0x60)), created: '2026-01-02T03:04:05.678Z', ...VECTOR_WRITING };
const SNAPSHOT: Snapshot = {
  version: 1, time: '2026-01-02T03:04:05.678Z', hostname: 'vectors', username: 'ebak',
  paths: ['/home/ebak/documents', '/home/ebak/photos', '/home/ebak/music', '/home/ebak/projects'],
  tags: ['daily'], excludes: ['*.tmp'], tree: TREE_ID, program_version: 'ebak 0.1.0',
  summary: { files_new: 3, files_changed: 0, files_unmodified: 0, dirs: 2, files_unreadable: 0, data_blobs_added: 3, tree_blobs_added: 2, bytes_processed: 4196, total_bytes: 4196, data_added: 5000 },
};
const LOCK = { time: '2026-01-02T03:04:05.678Z', hostname: 'h', username: 'u', pid: 4242, exclusive: false };

// ---------------------------------------------------------------- objects
const OBJ = { magic: 0, version: 4, type: 5, flags: 6, salt: 7, nonce: 23, body: 35 };
const TYPE_BYTE: Record<ObjectTypeName, number> = { config: 1, index: 2, snapshot: 3, lock: 4, retention: 5 };

function objectVector(name: string, type: ObjectTypeName, payload: Buffer, other: ObjectTypeName): ObjectVector {
  const bytes = encodeObject(keys.object, type, payload);
  const len = bytes.length;
  const mutations: ObjectVector['mutations'] = [
    { name: 'magic byte flipped', edits: [{ op: 'xor', at: OBJ.magic, mask: 0x01 }], expect: 'AUTH_FAILED' },
    { name: 'version byte 2', edits: [{ op: 'set', at: OBJ.version, value: 2 }], expect: 'UNSUPPORTED_VERSION' },
    { name: 'version byte 0', edits: [{ op: 'set', at: OBJ.version, value: 0 }], expect: 'UNSUPPORTED_VERSION' },
    { name: `read as ${other}`, edits: [], decodeAs: other, expect: 'AUTH_FAILED' },
    { name: `type byte set to ${other}, read as ${type}`, edits: [{ op: 'set', at: OBJ.type, value: TYPE_BYTE[other] }], expect: 'AUTH_FAILED' },
    { name: `type byte set to ${other}, read as ${other}`, edits: [{ op: 'set', at: OBJ.type, value: TYPE_BYTE[other] }], decodeAs: other, expect: 'AUTH_FAILED' },
    { name: 'compression flag flipped', edits: [{ op: 'xor', at: OBJ.flags, mask: 0x01 }], expect: 'AUTH_FAILED' },
    { name: 'unknown flag bit set', edits: [{ op: 'xor', at: OBJ.flags, mask: 0x80 }], expect: 'AUTH_FAILED' },
    { name: 'salt bit flipped', edits: [{ op: 'xor', at: OBJ.salt + 5, mask: 0x10 }], expect: 'AUTH_FAILED' },
    { name: 'nonce bit flipped', edits: [{ op: 'xor', at: OBJ.nonce, mask: 0x01 }], expect: 'AUTH_FAILED' },
    { name: 'ciphertext bit flipped', edits: [{ op: 'xor', at: OBJ.body, mask: 0x04 }], expect: 'AUTH_FAILED' },
    { name: 'tag bit flipped', edits: [{ op: 'xor', at: -1, mask: 0x80 }], expect: 'AUTH_FAILED' },
    { name: 'empty', edits: [{ op: 'truncate', length: 0 }], expect: 'AUTH_FAILED' },
    { name: 'truncated inside the header', edits: [{ op: 'truncate', length: 22 }], expect: 'AUTH_FAILED' },
    { name: 'header only', edits: [{ op: 'truncate', length: 23 }], expect: 'AUTH_FAILED' },
    { name: 'last byte cut', edits: [{ op: 'truncate', length: len - 1 }], expect: 'AUTH_FAILED' },
    { name: 'tag cut off', edits: [{ op: 'truncate', length: len - 16 }], expect: 'AUTH_FAILED' },
    { name: 'one byte appended', edits: [{ op: 'append', hex: '00' }], expect: 'AUTH_FAILED' },
    { name: 'another master key', edits: [], wrongKey: true, expect: 'AUTH_FAILED' },
  ];
  for (const m of mutations) {
    const got = objectOutcome(m.wrongKey ? otherKeys.object : keys.object, m.decodeAs ?? type, applyEdits(bytes, m.edits));
    expectSame(`objects/${name}/${m.name}`, got, m.expect);
  }
  expectSame(`objects/${name}`, objectOutcome(keys.object, type, bytes), 'ok');
  return { name, type, hex: hex(bytes), id: type === 'config' ? 'config' : objectId(bytes), flags: bytes[OBJ.flags]!, payload: hex(payload), mutations };
}

// ---------------------------------------------------------------- packs
function buildPack(kind: number, salt: Buffer, blobs: { type: number; data: Buffer }[]): { bytes: Buffer; entries: BlobEntry[] } {
  const key = packKeyFor(keys.pack, salt);
  const prefix = encodePrefix(kind, KeySource.master, salt);
  const parts = [prefix];
  const entries: BlobEntry[] = [];
  let offset = PREFIX_BYTES;
  for (const b of blobs) {
    const id = hmacSha256(keys.blobId, b.data);
    const packed = compressIfSmaller(b.data, 3);
    const sealed = sealBlob(key, b.type, id, b.data.length, packed ?? b.data, packed !== undefined);
    entries.push({ type: b.type, flags: packed ? 1 : 0, id, offset, length: sealed.length, rawLength: b.data.length });
    parts.push(sealed);
    offset += sealed.length;
  }
  parts.push(encodeHeader(key, prefix, entries));
  return { bytes: Buffer.concat(parts), entries };
}

async function packVector(name: string, kind: number, salt: Buffer, blobs: { type: number; data: Buffer }[]): Promise<PackVector> {
  const { bytes, entries } = buildPack(kind, salt, blobs);
  const headerStart = bytes.length - 4 - bytes.readUInt32LE(bytes.length - 4);
  const headerLen = bytes.length - 4 - headerStart;
  const first = entries[0]!;
  const mutations: PackVector['mutations'] = [
    { name: 'magic byte flipped', edits: [{ op: 'xor', at: 0, mask: 0x20 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'pack version 2', edits: [{ op: 'set', at: 4, value: 2 }], stage: 'decodePack', expect: 'UNSUPPORTED_VERSION' },
    { name: 'key source 1 (a write-only credential\'s: the salt is read as an HPKE enc, whose key does not open the header)', edits: [{ op: 'set', at: 5, value: 1 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'kind byte flipped 0<->1', edits: [{ op: 'xor', at: 6, mask: 0x01 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'reserved byte set', edits: [{ op: 'set', at: 7, value: 1 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'salt bit flipped', edits: [{ op: 'xor', at: 20, mask: 0x02 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'first blob: ciphertext bit flipped', edits: [{ op: 'xor', at: first.offset + 12, mask: 0x01 }], stage: 'openBlob', expect: 'AUTH_FAILED' },
    { name: 'first blob: nonce bit flipped', edits: [{ op: 'xor', at: first.offset, mask: 0x40 }], stage: 'openBlob', expect: 'AUTH_FAILED' },
    { name: 'last blob: tag bit flipped', edits: [{ op: 'xor', at: headerStart - 1, mask: 0x01 }], stage: 'openBlob', expect: 'AUTH_FAILED' },
    { name: 'header: nonce bit flipped', edits: [{ op: 'xor', at: headerStart, mask: 0x01 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'header: ciphertext bit flipped', edits: [{ op: 'xor', at: headerStart + 12, mask: 0x01 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'header: tag bit flipped', edits: [{ op: 'xor', at: -5, mask: 0x01 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'trailer: header length 0xffffffff', edits: [{ op: 'u32le', at: -4, value: 0xffffffff }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'trailer: header length reaches into the prefix', edits: [{ op: 'u32le', at: -4, value: bytes.length - 4 - PREFIX_BYTES + 1 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'trailer: header length + 1', edits: [{ op: 'u32le', at: -4, value: headerLen + 1 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'trailer: header length - 1', edits: [{ op: 'u32le', at: -4, value: headerLen - 1 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'trailer: header length 0', edits: [{ op: 'u32le', at: -4, value: 0 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'empty', edits: [{ op: 'truncate', length: 0 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'prefix only', edits: [{ op: 'truncate', length: 39 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'last byte cut', edits: [{ op: 'truncate', length: bytes.length - 1 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'trailer cut off', edits: [{ op: 'truncate', length: bytes.length - 4 }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'one byte appended', edits: [{ op: 'append', hex: '00' }], stage: 'decodePack', expect: 'AUTH_FAILED' },
    { name: 'another master key', edits: [], wrongKey: true, stage: 'decodePack', expect: 'AUTH_FAILED' },
  ];
  if (entries.length >= 2) {
    // Swapped in place: the header still lists the old order, so each blob is read under the other's AAD.
    const [a, b] = [entries[0]!, entries[1]!];
    mutations.push({ name: 'the first two blobs swapped', edits: [{ op: 'swap', a: [a.offset, a.length], b: [b.offset, b.length] }], stage: 'openBlob', expect: 'AUTH_FAILED' });
  }
  for (const m of mutations) {
    const got = await packOutcome((m.wrongKey ? otherReader : reader).packKey, keys.blobId, applyEdits(bytes, m.edits));
    expectSame(`packs/${name}/${m.name}`, { stage: got.stage, expect: got.expect }, { stage: m.stage, expect: m.expect });
  }
  const good = await packOutcome(reader.packKey, keys.blobId, bytes);
  expectSame(`packs/${name}`, good.plaintexts.map(hex), blobs.map((b) => hex(b.data)));
  return {
    name, hex: hex(bytes), id: objectId(bytes), kind, keySource: KeySource.master, salt: hex(salt),
    blobs: entries.map((e, i): BlobVector => ({ type: e.type, flags: e.flags, id: hex(e.id), offset: e.offset, length: e.length, rawLength: e.rawLength, plaintext: hex(blobs[i]!.data) })),
    mutations,
  };
}

const TEXT_BLOB = Buffer.from('ebak test vector: a compressible data blob. '.repeat(90));
const RANDOM_BLOB = Buffer.concat(Array.from({ length: 4 }, (_, i) => sha256(Buffer.from([i])))); // 128 bytes, incompressible

// ---------------------------------------------------------------- trees
const node = (name: string, type: TreeNode['type'], extra: Partial<TreeNode>): TreeNode => ({
  name, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 1000, gid: 1000,
  mtime: '1767323045678901234', ctime: '1767323045678901234', inode: '1234567', dev: '64769', links: 1, ...extra,
});
const ID_A = hex(hmacSha256(keys.blobId, TEXT_BLOB));
const ID_B = hex(hmacSha256(keys.blobId, RANDOM_BLOB));

const TREE_NODES: { name: string; nodes: TreeNode[] }[] = [
  { name: 'empty directory', nodes: [] },
  {
    name: 'one of each type, given unsorted; UTF-8 byte order (U+FF61 before U+1F600, "B" before "a")',
    nodes: [
      node('a.txt', 'file', { size: TEXT_BLOB.length + RANDOM_BLOB.length, content: [ID_A, ID_B] }),
      node('\u{1F600}', 'symlink', { mode: 0o777, target: '../elsewhere' }),
      node('B', 'dir', { subtree: TREE_ID }),
      node('\uFF61', 'file', { size: 0, content: [], links: 2, inode: '18446744073709551615' }),
    ],
  },
  {
    // Fields given out of order and an unknown field: encodeTree writes the canonical order and drops the extra.
    name: 'canonical field order whatever the input order',
    nodes: [{ links: 1, dev: '1', inode: '2', ctime: '3', mtime: '4', gid: 0, uid: 0, mode: 0o4755, type: 'file', name: 'suid', content: [ID_B], size: RANDOM_BLOB.length, extra: 1 } as TreeNode],
  },
];

function treeVectors(): TreeFileVectors {
  const valid = TREE_NODES.map(({ name, nodes }) => {
    const bytes = encodeTree(nodes, 1);
    decodeTree(bytes, name);
    return { name, nodes, bytes: bytes.toString('utf8'), blobId: hex(hmacSha256(keys.blobId, bytes)) };
  });
  const base = node('f', 'file', { size: 0, content: [] });
  const tree = (...nodes: unknown[]) => JSON.stringify({ version: 1, nodes });
  const withField = (field: string, value: unknown, from: TreeNode = base) => tree({ ...from, [field]: value });
  const without = (field: keyof TreeNode, from: TreeNode = base) => tree(Object.fromEntries(Object.entries(from).filter(([k]) => k !== field)));
  const dir = node('d', 'dir', { subtree: TREE_ID });
  const link = node('l', 'symlink', { target: 't' });
  const invalid: TreeFileVectors['invalid'] = [
    { name: 'name ".."', json: withField('name', '..'), expect: 'UNSAFE_PATH' },
    { name: 'name "."', json: withField('name', '.'), expect: 'UNSAFE_PATH' },
    { name: 'name "a/b"', json: withField('name', 'a/b'), expect: 'UNSAFE_PATH' },
    { name: 'name "/etc"', json: withField('name', '/etc'), expect: 'UNSAFE_PATH' },
    { name: 'name ""', json: withField('name', ''), expect: 'UNSAFE_PATH' },
    { name: 'name "x\\u0000"', json: withField('name', 'x\u0000'), expect: 'UNSAFE_PATH' },
    { name: 'unsafe name wins over other invalid fields', json: tree({ ...base, name: '..', mode: -1 }), expect: 'UNSAFE_PATH' },
    { name: 'not JSON', json: '{"version":1,"nodes":[', expect: 'CORRUPT' },
    { name: 'JSON null', json: 'null', expect: 'CORRUPT' },
    { name: 'version 2', json: JSON.stringify({ version: 2, nodes: [] }), expect: 'UNSUPPORTED_VERSION' },
    { name: 'version missing', json: JSON.stringify({ nodes: [] }), expect: 'CORRUPT' },
    { name: 'nodes not an array', json: JSON.stringify({ version: 1, nodes: {} }), expect: 'CORRUPT' },
    { name: 'node is null', json: tree(null), expect: 'CORRUPT' },
    { name: 'name not a string', json: withField('name', 7), expect: 'CORRUPT' },
    { name: 'unsorted', json: tree({ ...base, name: 'b' }, { ...base, name: 'a' }), expect: 'CORRUPT' },
    { name: 'duplicate name', json: tree(base, base), expect: 'CORRUPT' },
    { name: 'sorted by UTF-16 units, not UTF-8 bytes', json: tree({ ...base, name: '\u{1F600}' }, { ...base, name: '\uFF61' }), expect: 'CORRUPT' },
    { name: 'unknown type', json: withField('type', 'fifo'), expect: 'CORRUPT' },
    { name: 'mode above 0o7777', json: withField('mode', 0o10000), expect: 'CORRUPT' },
    { name: 'negative uid', json: withField('uid', -1), expect: 'CORRUPT' },
    { name: 'fractional gid', json: withField('gid', 1.5), expect: 'CORRUPT' },
    { name: 'links as a string', json: withField('links', '1'), expect: 'CORRUPT' },
    { name: 'mtime as a number', json: withField('mtime', 1), expect: 'CORRUPT' },
    { name: 'mtime in exponent notation', json: withField('mtime', '1e9'), expect: 'CORRUPT' },
    { name: 'ctime negative', json: withField('ctime', '-1'), expect: 'CORRUPT' },
    { name: 'inode of 26 digits', json: withField('inode', '1'.repeat(26)), expect: 'CORRUPT' },
    { name: 'dev empty', json: withField('dev', ''), expect: 'CORRUPT' },
    { name: 'file without size', json: without('size'), expect: 'CORRUPT' },
    { name: 'file without content', json: without('content'), expect: 'CORRUPT' },
    { name: 'file with upper-case content id', json: withField('content', [ID_A.toUpperCase()]), expect: 'CORRUPT' },
    { name: 'file with short content id', json: withField('content', [ID_A.slice(2)]), expect: 'CORRUPT' },
    { name: 'file with a subtree', json: withField('subtree', TREE_ID), expect: 'CORRUPT' },
    { name: 'file with a target', json: withField('target', 'x'), expect: 'CORRUPT' },
    { name: 'dir without subtree', json: without('subtree', dir), expect: 'CORRUPT' },
    { name: 'dir with content', json: withField('content', [], dir), expect: 'CORRUPT' },
    { name: 'dir with size', json: withField('size', 0, dir), expect: 'CORRUPT' },
    { name: 'symlink with empty target', json: withField('target', '', link), expect: 'CORRUPT' },
    { name: 'symlink target with NUL', json: withField('target', 'a\u0000b', link), expect: 'CORRUPT' },
    { name: 'symlink without target', json: without('target', link), expect: 'CORRUPT' },
  ];
  for (const v of invalid) if (!SUPERSEDED_TREE_VECTORS.has(v.name)) expectSame(`trees/${v.name}`, outcomeSync(() => decodeTree(Buffer.from(v.json), 'vector tree')), v.expect);
  return { valid, invalid };
}

// ---------------------------------------------------------------- trees, version 2
const b = (s: string) => Buffer.from(s, 'latin1');
const TREE_V2_NODES: { name: string; nodes: TreeNode[] }[] = [
  { name: 'empty directory', nodes: [] },
  {
    name: 'a non-UTF-8 name beside its U+FFFD look-alike (two entries, in byte order), and a non-UTF-8 symlink target',
    nodes: [
      node('a\uFFFD', 'file', { size: 0, content: [] }),
      node('a\uFFFD', 'file', { rawName: b('a\xff'), size: 0, content: [] }),
      node('l', 'symlink', { mode: 0o777, target: 't\uFFFD', rawTarget: b('t\xfe') }),
    ],
  },
  {
    name: 'special files: a FIFO, a character and a block device (with rdev), a socket',
    nodes: [
      node('fifo', 'fifo', {}),
      node('null', 'chardev', { mode: 0o666, rdev: '259' }),
      node('sda', 'blockdev', { mode: 0o660, gid: 6, rdev: '2048' }),
      node('sock', 'socket', { mode: 0o755 }),
    ],
  },
  {
    name: 'extended attributes given unsorted: an ACL, a file capability, a non-UTF-8 name, an empty value',
    nodes: [node('ping', 'file', {
      size: 0, content: [], xattrs: [
        { name: b('user.\xff'), value: Buffer.alloc(0) },
        { name: Buffer.from('security.capability'), value: Buffer.from('0100000200200000000000000000000000000000', 'hex') },
        { name: Buffer.from('system.posix_acl_access'), value: Buffer.from('0200000001000600ffffffff04000400ffffffff10000400ffffffff20000400ffffffff', 'hex') },
      ],
    })],
  },
];

function treeV2Vectors(): TreeV2FileVectors {
  const valid = TREE_V2_NODES.map(({ name, nodes }) => {
    const bytes = encodeTree(nodes);
    const names = decodeTree(bytes, name).map((n) => hex(n.rawName ?? Buffer.from(n.name)));
    return { name, bytes: bytes.toString('utf8'), blobId: hex(hmacSha256(keys.blobId, bytes)), names };
  });
  const base = { name: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: '1', ctime: '1', inode: '1', dev: '1', links: 1, size: 0, content: [] };
  const { size: _s, content: _c, ...special } = base;
  const tree = (...nodes: unknown[]) => JSON.stringify({ version: 2, nodes });
  const with_ = (extra: Record<string, unknown>, from: Record<string, unknown> = base) => {
    const out: Record<string, unknown> = { ...from, ...extra };
    for (const [k, v] of Object.entries(extra)) if (v === undefined) delete out[k];
    return tree(out);
  };
  const raw = (s: string) => b(s).toString('base64');
  const xattr = (name: string, value = '') => ({ name, value });
  const link = { ...special, type: 'symlink', target: 't' };
  const invalid: TreeV2FileVectors['invalid'] = [
    { name: 'version 3', json: JSON.stringify({ version: 3, nodes: [] }), expect: 'UNSUPPORTED_VERSION' },
    { name: 'name_raw of valid UTF-8 (the string is its one encoding)', json: with_({ name: undefined, name_raw: raw('f') }), expect: 'CORRUPT' },
    { name: 'both name and name_raw', json: with_({ name_raw: raw('f\xff') }), expect: 'CORRUPT' },
    { name: 'name_raw not canonical base64', json: with_({ name: undefined, name_raw: 'Zv8' }), expect: 'CORRUPT' },
    { name: 'name_raw with "/"', json: with_({ name: undefined, name_raw: raw('\xff/x') }), expect: 'UNSAFE_PATH' },
    { name: 'name_raw with NUL', json: with_({ name: undefined, name_raw: raw('\xff\x00') }), expect: 'UNSAFE_PATH' },
    { name: 'name with a lone surrogate', json: with_({ name: '\uD800' }), expect: 'CORRUPT' },
    { name: 'raw name sorted after its U+FFFD look-alike, reversed', json: tree({ ...base, name: undefined, name_raw: raw('a\xff') }, { ...base, name: 'a\uFFFD' }), expect: 'CORRUPT' },
    { name: 'unknown type', json: with_({ type: 'door' }), expect: 'CORRUPT' },
    { name: 'FIFO with content', json: with_({ type: 'fifo' }), expect: 'CORRUPT' },
    { name: 'FIFO with rdev', json: with_({ type: 'fifo', rdev: '1' }, special), expect: 'CORRUPT' },
    { name: 'character device without rdev', json: with_({ type: 'chardev' }, special), expect: 'CORRUPT' },
    { name: 'block device with rdev as a number', json: with_({ type: 'blockdev', rdev: 1 }, special), expect: 'CORRUPT' },
    { name: 'file with rdev', json: with_({ rdev: '1' }), expect: 'CORRUPT' },
    { name: 'file with target_raw', json: with_({ target_raw: raw('\xff') }), expect: 'CORRUPT' },
    { name: 'symlink with target and target_raw', json: with_({ target_raw: raw('\xff') }, link), expect: 'CORRUPT' },
    { name: 'symlink target_raw of valid UTF-8', json: with_({ target: undefined, target_raw: raw('t') }, link), expect: 'CORRUPT' },
    { name: 'symlink target_raw with NUL', json: with_({ target: undefined, target_raw: raw('\xff\x00') }, link), expect: 'CORRUPT' },
    { name: 'xattrs empty', json: with_({ xattrs: [] }), expect: 'CORRUPT' },
    { name: 'xattrs unsorted', json: with_({ xattrs: [xattr('user.b'), xattr('user.a')] }), expect: 'CORRUPT' },
    { name: 'xattrs duplicated', json: with_({ xattrs: [xattr('user.a'), xattr('user.a')] }), expect: 'CORRUPT' },
    { name: 'xattr with an empty name', json: with_({ xattrs: [xattr('')] }), expect: 'CORRUPT' },
    { name: 'xattr value not base64', json: with_({ xattrs: [xattr('user.a', '*')] }), expect: 'CORRUPT' },
    { name: 'xattr without value', json: with_({ xattrs: [{ name: 'user.a' }] }), expect: 'CORRUPT' },
  ];
  for (const v of invalid) expectSame(`trees-v2/${v.name}`, outcomeSync(() => decodeTree(Buffer.from(v.json), 'vector tree')), SUPERSEDED_TREE_V2_OUTCOMES.get(v.name) ?? v.expect);
  return { valid, invalid };
}

// ---------------------------------------------------------------- index payloads
function indexJson(idx: IndexFile): IndexJson {
  return {
    packs: idx.packs.map((p) => ({
      id: hex(p.id), salt: hex(p.salt), kind: p.kind, keySource: p.keySource,
      blobs: p.blobs.map((b) => ({ type: b.type, flags: b.flags, id: hex(b.id), offset: b.offset, length: b.length, rawLength: b.rawLength })),
    })),
    superseded: idx.superseded.map(hex),
  };
}

function indexVectors(packs: PackVector[]): { file: IndexFileVectors; sample: Buffer } {
  const indexed = (p: PackVector) => ({
    id: Buffer.from(p.id, 'hex'), salt: Buffer.from(p.salt, 'hex'), kind: p.kind, keySource: p.keySource,
    blobs: p.blobs.map((b) => ({ ...b, id: Buffer.from(b.id, 'hex') })).map(({ plaintext: _, ...b }) => b),
  });
  const cases: { name: string; idx: IndexFile }[] = [
    { name: 'empty', idx: { packs: [], superseded: [] } },
    { name: 'the data pack', idx: { packs: [indexed(packs[0]!)], superseded: [] } },
    { name: 'both packs, superseding two index files', idx: { packs: packs.map(indexed), superseded: [sha256(Buffer.from('old index 1')), sha256(Buffer.from('old index 2'))] } },
  ];
  const valid = cases.map(({ name, idx }) => {
    const payload = encodeIndex(idx);
    expectSame(`index/${name}`, indexJson(decodeIndex(payload, name)), indexJson(idx));
    return { name, payload: hex(payload), decoded: indexJson(idx) };
  });
  const one = encodeIndex(cases[1]!.idx);
  const invalid: IndexFileVectors['invalid'] = [
    { name: 'empty payload', payload: '', expect: 'CORRUPT' },
    { name: 'version 2', payload: hex(applyEdits(one, [{ op: 'set', at: 0, value: 2 }])), expect: 'UNSUPPORTED_VERSION' },
    { name: 'one trailing byte', payload: hex(applyEdits(one, [{ op: 'append', hex: '00' }])), expect: 'CORRUPT' },
    { name: 'last byte cut', payload: hex(applyEdits(one, [{ op: 'truncate', length: one.length - 1 }])), expect: 'CORRUPT' },
    { name: 'pack count 0xffffffff', payload: hex(applyEdits(one, [{ op: 'u32le', at: 1, value: 0xffffffff }])), expect: 'CORRUPT' },
    { name: 'blob count one too many', payload: hex(applyEdits(one, [{ op: 'u32le', at: 1 + 4 + 66, value: 3 }])), expect: 'CORRUPT' },
    { name: 'superseded count one too many', payload: hex(applyEdits(one, [{ op: 'u32le', at: -4, value: 1 }])), expect: 'CORRUPT' },
  ];
  for (const v of invalid) expectSame(`index/${v.name}`, outcomeSync(() => decodeIndex(Buffer.from(v.payload, 'hex'), 'vector index')), v.expect);
  return { file: { valid, invalid }, sample: encodeIndex(cases[2]!.idx) };
}

// ---------------------------------------------------------------- config and snapshot payloads
function payloadVectors(): PayloadFileVectors {
  const cfg = (patch: Record<string, unknown>) => JSON.stringify({ ...CONFIG, ...patch });
  const snap = (patch: Record<string, unknown>) => JSON.stringify({ ...SNAPSHOT, ...patch });
  const dropSnap = (field: string) => JSON.stringify(Object.fromEntries(Object.entries(SNAPSHOT).filter(([k]) => k !== field)));
  const out: PayloadFileVectors = {
    config: [
      { name: 'valid', json: cfg({}), expect: 'ok' },
      { name: 'version 2', json: cfg({ version: 2 }), expect: 'UNSUPPORTED_VERSION' },
      { name: 'version missing', json: cfg({ version: undefined }), expect: 'UNSUPPORTED_VERSION' },
      { name: 'JSON null', json: 'null', expect: 'UNSUPPORTED_VERSION' },
      { name: 'not JSON', json: '{', expect: 'CORRUPT' },
      { name: 'id not 64 hex digits', json: cfg({ id: 'abc' }), expect: 'CORRUPT' },
      { name: 'chunker min 0', json: cfg({ chunker: { ...CONFIG.chunker, min: 0 } }), expect: 'CORRUPT' },
      { name: 'chunker missing', json: cfg({ chunker: undefined }), expect: 'CORRUPT' },
      { name: 'pack_size as a string', json: cfg({ pack_size: '16777216' }), expect: 'CORRUPT' },
      { name: 'compression_level fractional', json: cfg({ compression_level: 2.5 }), expect: 'CORRUPT' },
    ],
    snapshot: [
      { name: 'valid', json: snap({}), expect: 'ok' },
      { name: 'valid, with parent', json: snap({ parent: hex(seq(32, 1)) }), expect: 'ok' },
      { name: 'valid, without summary', json: snap({ summary: undefined }), expect: 'ok' },
      { name: 'version 2', json: snap({ version: 2 }), expect: 'UNSUPPORTED_VERSION' },
      { name: 'not JSON', json: '[', expect: 'CORRUPT' },
      { name: 'time not a date', json: snap({ time: 'yesterday' }), expect: 'CORRUPT' },
      { name: 'tree upper-case hex', json: snap({ tree: TREE_ID.toUpperCase() }), expect: 'CORRUPT' },
      { name: 'parent too short', json: snap({ parent: 'abcd' }), expect: 'CORRUPT' },
      { name: 'paths not an array', json: snap({ paths: '/home' }), expect: 'CORRUPT' },
      { name: 'tags holding a number', json: snap({ tags: [1] }), expect: 'CORRUPT' },
      { name: 'excludes missing', json: dropSnap('excludes'), expect: 'CORRUPT' },
      { name: 'hostname missing', json: dropSnap('hostname'), expect: 'CORRUPT' },
    ],
  };
  for (const v of out.config) expectSame(`config/${v.name}`, outcomeSync(() => decodeConfig(Buffer.from(v.json))), v.expect);
  for (const v of out.snapshot) expectSame(`snapshot/${v.name}`, outcomeSync(() => decodeSnapshot(Buffer.from(v.json), 'vector')), v.expect);
  return out;
}

// ---------------------------------------------------------------- key files
const PASSWORD = 'correct horse battery staple';

type KeyMutations = KeyFileVector['mutations'];

async function keyFileVector(name: string, kind: 'password' | 'recovery', secret: string, more: (f: KeyFile) => KeyMutations): Promise<KeyFileVector> {
  const f = await createKeyFile(master, kind, secret, { hostname: 'vectors', username: 'ebak' });
  const text = serialiseKeyFile(f);
  const mutations = more(f);
  expectSame(`keys/${name}`, await keyFileOutcome(text, secret, master), 'ok');
  for (const m of mutations) expectSame(`keys/${name}/${m.name}`, await keyFileOutcome(mutateKeyFile(text, m), m.secret ?? secret, master), m.expect);
  return { name, text, id: hex(sha256(Buffer.from(text))), secret, mutations };
}

async function keyVectors(): Promise<KeyFileVectors> {
  const salt = hex(seq(16, 0x33));
  const b64Salt = Buffer.from(salt, 'hex').toString('base64');
  return {
    master: MASTER_HEX,
    files: [
      await keyFileVector('password (Argon2id, defaults)', 'password', PASSWORD, () => [
        { name: 'wrong password', secret: 'correct horse battery stapler', expect: 'undefined' },
        { name: 'memory_kib lowered', set: { path: ['kdf', 'memory_kib'], value: 32768 }, expect: 'undefined' },
        { name: 'iterations lowered', set: { path: ['kdf', 'iterations'], value: 2 }, expect: 'undefined' },
        { name: 'salt replaced', set: { path: ['kdf', 'salt'], value: b64Salt }, expect: 'undefined' },
        { name: 'kind changed to recovery', set: { path: ['kind'], value: 'recovery' }, expect: 'undefined' },
        { name: 'kdf replaced by hkdf-sha256 (cheap to guess)', set: { path: ['kdf'], value: { name: 'hkdf-sha256', salt: b64Salt } }, expect: 'undefined' },
        { name: 'version 2', set: { path: ['version'], value: 2 }, expect: 'UNSUPPORTED_VERSION' },
        { name: 'memory_kib above the 4 GiB cap', set: { path: ['kdf', 'memory_kib'], value: 4 * 1024 * 1024 + 1 }, expect: 'CORRUPT' },
        { name: 'iterations above 64', set: { path: ['kdf', 'iterations'], value: 65 }, expect: 'CORRUPT' },
        { name: 'parallelism 0', set: { path: ['kdf', 'parallelism'], value: 0 }, expect: 'CORRUPT' },
        { name: 'unknown kdf', set: { path: ['kdf', 'name'], value: 'scrypt' }, expect: 'CORRUPT' },
        { name: 'unknown kind', set: { path: ['kind'], value: 'vault' }, expect: 'CORRUPT' },
        { name: 'data missing', set: { path: ['data'], value: null }, expect: 'CORRUPT' },
        { name: 'not JSON', text: '{"version":1', expect: 'CORRUPT' },
      ]),
      await keyFileVector('recovery code (HKDF-SHA-256)', 'recovery', RECOVERY_CODE, (f) => [
        { name: 'wrong code (last digit)', secret: RECOVERY_CODE.slice(0, 63) + '3', expect: 'undefined' },
        { name: 'right code, not normalised (dashes kept)', secret: RECOVERY_CODE.match(/.{4}/g)!.join('-'), expect: 'undefined' },
        { name: 'salt replaced', set: { path: ['kdf', 'salt'], value: b64Salt }, expect: 'undefined' },
        { name: 'kind changed to password', set: { path: ['kind'], value: 'password' }, expect: 'undefined' },
        { name: 'wrapped key: a ciphertext bit flipped', set: { path: ['data'], value: flipBase64(f.data, 20) }, expect: 'undefined' },
        { name: 'wrapped key: tag cut off', set: { path: ['data'], value: Buffer.from(f.data, 'base64').subarray(0, 44).toString('base64') }, expect: 'undefined' },
        { name: 'hostname changed (metadata is not in the AAD; the name check catches it)', set: { path: ['hostname'], value: 'elsewhere' }, expect: 'ok' },
        { name: 'version 0', set: { path: ['version'], value: 0 }, expect: 'UNSUPPORTED_VERSION' },
        { name: 'kdf argon2id without parameters', set: { path: ['kdf', 'name'], value: 'argon2id' }, expect: 'CORRUPT' },
        { name: 'kdf salt not a string', set: { path: ['kdf', 'salt'], value: 7 }, expect: 'CORRUPT' },
      ]),
    ],
  };
}

function flipBase64(b64: string, byte: number): string {
  const b = Buffer.from(b64, 'base64');
  b[byte]! ^= 1;
  return b.toString('base64');
}

// ---------------------------------------------------------------- main
const dataPack = await packVector('data pack: a compressed and an incompressible blob', BlobType.data, seq(32, 0x40),
  [{ type: BlobType.data, data: TEXT_BLOB }, { type: BlobType.data, data: RANDOM_BLOB }]);
const treePack = await packVector('tree pack: one tree blob', BlobType.tree, seq(32, 0x80), [{ type: BlobType.tree, data: encodeTree(TREE_NODES[1]!.nodes, 1) }]);

const { file: indexFile, sample: indexPayload } = indexVectors([dataPack, treePack]);
write('subkeys.json', subkeyVectors());
write('objects.json', {
  master: MASTER_HEX,
  objects: [
    objectVector('config', 'config', encodeConfig(CONFIG), 'snapshot'),
    objectVector('index', 'index', indexPayload, 'snapshot'),
    objectVector('snapshot', 'snapshot', encodeSnapshot(SNAPSHOT), 'index'),
    objectVector('lock', 'lock', Buffer.from(JSON.stringify(LOCK)), 'config'),
  ],
});
write('packs.json', { master: MASTER_HEX, packs: [dataPack, treePack] });
write('index.json', indexFile);
write('trees.json', { master: MASTER_HEX, ...treeVectors() });
write('trees-v2.json', { master: MASTER_HEX, ...treeV2Vectors() });
write('payloads.json', payloadVectors());
write('keys.json', await keyVectors());
