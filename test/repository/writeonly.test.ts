/**
 * Write-only credentials below the CLI (docs/format.md, "Write-only
 * credentials"): EBKO version 2 objects as both sides read them, with every
 * header field, the device wrap, the enc and the body tampered (damage to one
 * of its own, told by its device marker, is reported, not "not mine"); key files
 * version 2; key source 1 packs written by the packer and read by the full
 * key; unlock and the refusal of a full-key open; the full key's view of a
 * credential's lock (what prune and exclusive commands respect).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hmacSha256, random } from '../../src/crypto/index.js';
import { passwordRecipient } from '../../src/keys/index.js';
import { EbakError } from '../../src/errors.js';
import { openBlob } from '../../src/repository/blob.js';
import { decodeIndex, encodeIndex } from '../../src/repository/format/indexfile.js';
import { parseKeyFile, unwrapKeyFile, wrapInKeyFile, type KeyFile } from '../../src/repository/format/keyfile.js';
import { sealedKey } from '../../src/repository/format/hpke.js';
import { encodeObject, encodeSealedObject, type ObjectTypeName } from '../../src/repository/format/object.js';
import { BlobType, decodePack, KeySource } from '../../src/repository/format/pack.js';
import { keyToRemove, unlock } from '../../src/repository/keyring.js';
import { withLock } from '../../src/repository/locks.js';
import { MasterIndex } from '../../src/repository/masterindex.js';
import { Packer } from '../../src/repository/packer.js';
import { DEFAULT_CONFIG, Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { decodeCredential, deviceMarker, encodeCredential, newCredential, newPackKey, openOwnObject, sealObject, type WriteOnlyCredential } from '../../src/repository/writeonly/credential.js';
import { FullKeyReader } from '../../src/repository/writeonly/reader.js';
import { WriteOnlyRepository } from '../../src/repository/writeonly/repository.js';
import { LocalBackend } from '../../src/storage/local.js';
import { pieces, type SaveData } from '../../src/storage/source.js';
import { outcome, outcomeSync } from './vector-kit.js';

const master = random(32);
const keys = Repository.subKeys(master);
const config = { version: 1, id: random(32).toString('hex'), created: new Date().toISOString(), ...DEFAULT_CONFIG };
const reader = new FullKeyReader(keys, config.id);
const credential = newCredential(config, keys, (await reader.keyPair()).publicKey);
const otherDevice = newCredential(config, keys, (await reader.keyPair()).publicKey);
const otherRepository = new FullKeyReader(Repository.subKeys(random(32)), config.id);
const meta = { hostname: 'h', username: 'u' };

const payload = Buffer.from(JSON.stringify({ time: new Date().toISOString(), hostname: 'h', username: 'u', pid: 1, exclusive: false }));
const sealed = await sealObject(credential, 'lock', payload);

/** What the full key and the credential make of `bytes` (read as `type`). */
async function bothSides(bytes: Buffer, type: ObjectTypeName = 'lock'): Promise<{ full: string; own: string }> {
  const full = await outcome(async () => {
    assert.deepEqual(await reader.openObject(type, bytes, 'o'), payload);
    return true;
  });
  const own = outcomeSync(() => {
    const got = openOwnObject(credential, type, bytes, 'o');
    if (got) assert.deepEqual(got, payload);
    return got;
  });
  return { full, own };
}

function edited(at: number, f: (b: number) => number): Buffer {
  const b = Buffer.from(sealed);
  b[at] = f(b[at]!);
  return b;
}

/** All of a saved pack in one buffer (pieces read into fresh buffers, so each can be kept). */
async function wholeOf(d: SaveData): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const p of pieces(d, false)) out.push(p);
  return Buffer.concat(out);
}

describe('EBKO version 2 (objects written by a write-only credential)', () => {
  it('opens for the full key and for the credential that wrote it, not for another device or repository', async () => {
    assert.deepEqual(await bothSides(sealed), { full: 'ok', own: 'ok' });
    assert.equal(sealed.length, 100 + 12 + payload.length + 16);
    assert.deepEqual([sealed[4], sealed[5], sealed[7]], [2, 4, 1]);
    assert.equal(openOwnObject(otherDevice, 'lock', sealed, 'o'), undefined);
    assert.equal(await outcome(() => otherRepository.openObject('lock', sealed, 'o')), 'AUTH_FAILED');
  });

  it('a full key\'s version 1 object is not the credential\'s own (skipped), and still opens for the full key', async () => {
    const v1 = encodeObject(keys.object, 'lock', payload);
    assert.equal(openOwnObject(credential, 'lock', v1, 'o'), undefined);
    assert.deepEqual(await reader.openObject('lock', v1, 'o'), payload);
  });

  it('refuses every tampered header field, the enc, the device wrap and the body', async () => {
    const cases: [string, Buffer, { full: string; own: string }][] = [
      ['magic', edited(0, (b) => b ^ 1), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
      ['version 3', edited(4, () => 3), { full: 'UNSUPPORTED_VERSION', own: 'UNSUPPORTED_VERSION' }],
      ['version 1 (read as the other layout)', edited(4, () => 1), { full: 'AUTH_FAILED', own: 'undefined' }],
      ['type', edited(5, () => 3), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
      ['flags', edited(6, (b) => b ^ 1), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
      ['key source 2', edited(7, () => 2), { full: 'UNSUPPORTED_VERSION', own: 'UNSUPPORTED_VERSION' }],
      ['enc', edited(8, (b) => b ^ 1), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
      ['device wrap', edited(60, (b) => b ^ 1), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
      // Only the marker itself says whose it is: altered, the object is another writer's to this device.
      ['device marker (the wrap nonce\'s first 4 bytes)', edited(40, (b) => b ^ 1), { full: 'AUTH_FAILED', own: 'undefined' }],
      ['body', edited(120, (b) => b ^ 1), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
      ['tag', edited(sealed.length - 1, (b) => b ^ 1), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
      ['cut to its header', sealed.subarray(0, 100), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
      ['one byte appended', Buffer.concat([sealed, Buffer.of(0)]), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }],
    ];
    for (const [name, bytes, want] of cases) assert.deepEqual(await bothSides(bytes), want, name);
    assert.deepEqual(await bothSides(sealed, 'index'), { full: 'AUTH_FAILED', own: 'AUTH_FAILED' }, 'read as another type');
  });

  it('its own objects carry its device marker; an unmarked one (an earlier build\'s) is its own only if its key wrap opens', async () => {
    assert.deepEqual(sealed.subarray(40, 44), deviceMarker(credential));
    assert.notDeepEqual(deviceMarker(otherDevice), deviceMarker(credential));
    const { enc, key } = await sealedKey(credential.publicKey, config.id, 'object');
    const unmarked = encodeSealedObject({ objectKey: key, enc, deviceKey: credential.deviceKey, wrapNonce: Buffer.alloc(12, 0xee) }, 'lock', payload);
    assert.deepEqual(openOwnObject(credential, 'lock', unmarked, 'o'), payload);
    const flipped = Buffer.from(unmarked);
    flipped[6]! ^= 1;
    assert.equal(openOwnObject(credential, 'lock', flipped, 'o'), undefined);
  });

  it('every single-bit flip fails for the full key, and never opens to other bytes for the credential', async () => {
    for (let i = 0; i < sealed.length * 8; i += 7) {
      const b = edited(i >> 3, (x) => x ^ (1 << (i & 7)));
      const got = await bothSides(b);
      assert.notEqual(got.full, 'ok', `bit ${i}`);
      assert.notEqual(got.own, 'ok', `bit ${i}`);
    }
  });
});

describe('key files version 2 (kind "write-only")', () => {
  const bundle = encodeCredential(credential);
  const text = async () => JSON.stringify(await wrapInKeyFile(bundle, 'write-only', 'device pw', meta), null, 2);
  const parse = (f: unknown) => parseKeyFile(Buffer.from(JSON.stringify(f, null, 2)), 'k');

  it('wraps the credential bundle under the password (Argon2id), and gives it back', async () => {
    const f = parseKeyFile(Buffer.from(await text()), 'k');
    assert.deepEqual([f.version, f.kind, f.kdf.name], [2, 'write-only', 'argon2id']);
    const opened = await unwrapKeyFile(f, 'device pw', 'k');
    assert.ok(opened);
    assert.deepEqual(decodeCredential(opened, 'k'), credential);
    assert.equal(await unwrapKeyFile(f, 'wrong', 'k'), undefined);
  });

  it('refuses a version the kind does not have, a cheap KDF, and authenticates version, kind and KDF', async () => {
    const f = JSON.parse(await text()) as KeyFile;
    const code = (x: unknown) => outcomeSync(() => parse(x));
    assert.equal(code({ ...f, version: 1 }), 'CORRUPT');
    assert.equal(code({ ...f, version: 3 }), 'CORRUPT', 'version 3 holds password and recovery key files only');
    assert.equal(code({ ...f, version: 4 }), 'UNSUPPORTED_VERSION');
    assert.equal(code({ ...f, kind: 'password' }), 'UNSUPPORTED_VERSION');
    assert.equal(code({ ...f, kdf: { name: 'hkdf-sha256', salt: f.kdf.salt } }), 'CORRUPT');
    const lowered = parse({ ...f, kdf: { ...f.kdf, iterations: 2 } });
    assert.equal(await unwrapKeyFile(lowered, 'device pw', 'k'), undefined);
  });

  it('does not count as the key that keeps a repository readable (key remove refuses the last one that opens K)', () => {
    const file = (kind: KeyFile['kind']) => ({ version: kind === 'write-only' ? 2 : 1, kind, created: '', hostname: '', username: '', kdf: { name: 'hkdf-sha256' as const, salt: '' }, data: '' });
    const listing = [{ id: 'aaaa', file: file('recovery') }, { id: 'bbbb', file: file('write-only') }];
    assert.equal(outcomeSync(() => keyToRemove(listing, 'aaaa', undefined)), 'USAGE');
    assert.equal(keyToRemove(listing, 'bbbb', undefined), 'bbbb');
  });

  it('a damaged bundle is CORRUPT', () => {
    assert.equal(outcomeSync(() => decodeCredential(Buffer.from('{"repository_id":1}'), 'k')), 'CORRUPT');
    assert.equal(outcomeSync(() => decodeCredential(Buffer.from('not json'), 'k')), 'CORRUPT');
  });
});

describe('a repository with a write-only credential', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ebak-wo-unit-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const backend = new LocalBackend(join(dir, 'repo'));
  const pool = new WorkerPool(2);
  after(() => pool.close());
  const full = await Repository.init(backend, [passwordRecipient('full pw')]);
  await full.addWriteOnlyKey('device pw');
  const unlocked = await unlock(backend, { password: 'device pw' });
  const device = 'credential' in unlocked ? new WriteOnlyRepository(backend, unlocked.credential) : assert.fail('no credential');
  const credential0 = () => (unlocked as { credential: WriteOnlyCredential }).credential;

  it('a password opens the write-only key file as a credential; a full-key open with it is WRITE_ONLY', async () => {
    assert.ok('masterKey' in (await unlock(backend, { password: 'full pw' })));
    await assert.rejects(Repository.open(backend, { password: 'device pw' }), (e: EbakError) => e.code === 'WRITE_ONLY');
    await assert.rejects(full.addKey({ password: 'device pw' }, 'password', 'x'), (e: EbakError) => e.code === 'WRITE_ONLY');
  });

  it('writes key source 1 packs and a version 2 index the full key reads; it deduplicates against its own index only', async () => {
    await device.loadIndex();
    const w = device.blobWriter(pool);
    const data = random(5000);
    const id = w.blobId(data);
    assert.equal(await w.add(BlobType.data, id, Buffer.from(data)), true);
    await w.finish();
    const again = new WriteOnlyRepository(backend, (unlocked as { credential: WriteOnlyCredential }).credential);
    await again.loadIndex();
    assert.ok(again.hasBlob(id));
    await full.addWriteOnlyKey('other device pw');
    const other = await unlock(backend, { password: 'other device pw' });
    assert.ok('credential' in other);
    const stranger = new WriteOnlyRepository(backend, other.credential);
    await stranger.loadIndex();
    assert.equal(stranger.hasBlob(id), false, 'another credential does not see (or deduplicate against) this one\'s blobs');
    await full.loadIndex();
    const loc = full.lookupBlob(id)!;
    assert.equal(loc.pack.keySource, KeySource.writeOnly);
    const header = await full.readPackHeader(loc.pack.id);
    assert.equal(header.keySource, KeySource.writeOnly);
    assert.deepEqual(await full.checkPack(loc.pack.id), []);
    const read: Buffer[] = [];
    await full.blobReader(pool).readBlobs(BlobType.data, [{ id, loc }], (_, p) => read.push(p));
    assert.deepEqual(read, [data]);
  });

  it('its lock is seen by the full key (prune and exclusive commands respect it); it sees only its own', async () => {
    await withLock(device, 'shared', () => {}, async () => {
      await assert.rejects(full.lock('exclusive', () => {}), (e: EbakError) => e.code === 'LOCKED');
      await withLock(full, 'prune', () => {}, async (mine) => {
        const others = await full.otherLocks(mine);
        assert.equal(others.length, 1);
        assert.equal(others[0]!.exclusive, false);
      });
    });
  });

  it('a damaged index file of its own (stored under its new hash) is named in a warning, not skipped as another writer\'s', async () => {
    const names: string[] = [];
    for await (const f of backend.list('index')) names.push(f.name);
    const own = await Promise.all(names.map(async (n) => ({ n, bytes: await backend.load({ type: 'index', name: n }) })));
    const mine = own.find(({ bytes }) => bytes[4] === 2 && openOwnObject(credential0(), 'index', bytes, 'o') !== undefined)!;
    const bad = Buffer.from(mine.bytes);
    bad[60]! ^= 1; // the device wrap
    const badName = createHash('sha256').update(bad).digest('hex');
    await backend.save({ type: 'index', name: badName }, bad);
    const warnings: string[] = [];
    const fresh = new WriteOnlyRepository(backend, credential0());
    fresh.setWarningSink((m) => warnings.push(m));
    try {
      assert.deepEqual(await fresh.loadIndex(), [badName]);
      assert.equal(warnings.length, 1);
      assert.ok(warnings[0]!.includes(badName));
    } finally {
      await backend.remove({ type: 'index', name: badName });
    }
  });

  it('takes --pack-size and --compression (setWriting) and --retry-lock (retryLocksFor) as the full key does', async () => {
    const packs = async () => { let n = 0; for await (const _ of backend.list('data')) n++; return n; };
    const before = await packs();
    const small = new WriteOnlyRepository(backend, credential0());
    small.setWriting({ pack_size: 4096, compression_level: 0 });
    await small.loadIndex();
    const w = small.blobWriter(pool);
    for (let i = 0; i < 3; i++) {
      const data = random(5000);
      await w.add(BlobType.data, w.blobId(data), Buffer.from(data));
    }
    await w.finish();
    assert.equal(await packs(), before + 3, 'one pack per blob past the 4 KiB target');
    // It sees its own locks only (another process of the same credential holding one exclusively, here).
    const held = await new WriteOnlyRepository(backend, credential0()).lock('exclusive', () => {});
    await assert.rejects(small.lock('shared', () => {}), (e: EbakError) => e.code === 'LOCKED');
    small.retryLocksFor(10_000);
    setTimeout(() => void held.release(), 300);
    const got = await small.lock('shared', () => {});
    await got.release();
  });

  it('reads no snapshot, tree or parent: WRITE_ONLY', async () => {
    for (const f of [() => device.findSnapshot(), () => device.loadTree(), () => device.listSnapshots()])
      await assert.rejects(f(), (e: EbakError) => e.code === 'WRITE_ONLY');
    assert.deepEqual(await device.readSnapshots(), { snapshots: [], damaged: [] });
  });
});

describe('key source 1 packs', () => {
  it('the packer writes them with the salt field holding the HPKE enc; the full key opens them, another repository does not', async () => {
    const saved = new Map<string, Buffer>();
    const pool = new WorkerPool(1);
    try {
      const packer = new Packer({
        index: new MasterIndex(), config: DEFAULT_CONFIG,
        packKeys: { source: KeySource.writeOnly, newKey: () => newPackKey(credential) },
        blobId: (d) => hmacSha256(credential.blobIdKey, d),
        savePack: async (id, pack) => void saved.set(id, await wholeOf(pack)),
        saveIndex: async (p) => {
          assert.ok(decodeIndex(p, 'i').packs.every((x) => x.keySource === KeySource.writeOnly));
          return 'i';
        },
      }, pool);
      const blobs = [random(300), random(400)];
      for (const b of blobs) await packer.add(BlobType.data, hmacSha256(credential.blobIdKey, b), Buffer.from(b));
      await packer.finish();
      const [bytes] = [...saved.values()];
      assert.ok(bytes);
      assert.equal(bytes[5], KeySource.writeOnly);
      const { key, entries } = await decodePack(reader.packKey, bytes, 'p');
      const opened = entries.map((e) => openBlob(key, keys.blobId, e, bytes.subarray(e.offset, e.offset + e.length), 'b').length).sort();
      assert.deepEqual(opened, [300, 400]);
      assert.equal(await outcome(() => decodePack(otherRepository.packKey, bytes, 'p')), 'AUTH_FAILED');
    } finally {
      await pool.close();
    }
  });

  it('an index names them with key source 1 (no new index version)', () => {
    const pack = { id: random(32), salt: random(32), kind: 0, keySource: KeySource.writeOnly, blobs: [] };
    const payload = encodeIndex({ packs: [pack], superseded: [] });
    assert.equal(payload[0], 1);
    assert.equal(decodeIndex(payload, 'i').packs[0]!.keySource, KeySource.writeOnly);
  });
});
