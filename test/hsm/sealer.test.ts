/**
 * The key-reusing sealer (src/hsm/sealer.ts) on a real SoftHSM2 token, the
 * token's wraps and unwraps counted by a wrapper in front of it: records it
 * seals are sealed record v2 that today's `unseal` opens; a key is renewed
 * after its seal bound and its age bound; a rotated ring reaches new seals;
 * opening a wrapped key it knows makes no unwrap and still authenticates.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { parseBlob } from '../../src/hsm/blob.js';
import type { KeyWrapper } from '../../src/hsm/hsm.js';
import { Pkcs11Hsm } from '../../src/hsm/pkcs11.js';
import { seal, unseal } from '../../src/hsm/seal.js';
import { RecordSealer, type SealerOptions } from '../../src/hsm/sealer.js';
import { softhsm } from './softhsm.js';

const env = softhsm(['s']);
const BIND = Buffer.alloc(32, 7);
let hsm: Pkcs11Hsm;
before(async () => {
  hsm = await Pkcs11Hsm.open(env.config('s'));
  await hsm.createRing('vault', 'wrap');
});
after(async () => { await hsm.close(); env.cleanup(); });

/** A sealer over the real token whose wraps and unwraps are counted. */
function counted(options: Omit<SealerOptions, 'bind'> = {}) {
  const calls = { wrap: 0, unwrap: 0 };
  const wrapper: KeyWrapper = {
    wrap: (ring, secret) => (calls.wrap++, hsm.wrap(ring, secret)),
    unwrap: (blob) => (calls.unwrap++, hsm.unwrap(blob)),
  };
  return { calls, sealer: new RecordSealer(wrapper, 'vault', { ...options, bind: BIND }) };
}

/** The wrapped data key of a sealed record (bytes 7 .. 7+w). */
const wrappedOf = (sealed: Buffer) => sealed.subarray(7, 7 + sealed.readUInt16BE(5));
const ivOf = (sealed: Buffer) => { const end = 7 + sealed.readUInt16BE(5); return sealed.subarray(end, end + 12); };

test('versions of a record share one wrap; each is sealed record v2 that unseal opens, with its own IV', async () => {
  const { calls, sealer } = counted();
  const sealed: Buffer[] = [];
  for (let v = 1; v <= 5; v++) sealed.push(await sealer.seal(Buffer.from(`{"failures":${v}}`), { id: 'ctr/a', version: v }));
  assert.equal(calls.wrap, 1);
  for (const [i, s] of sealed.entries()) {
    assert.equal(s[4], 2, 'format 2');
    assert.equal((await unseal(hsm, s, { id: 'ctr/a', version: i + 1 }, { bind: BIND })).toString(), `{"failures":${i + 1}}`);
    assert.deepEqual(wrappedOf(s), wrappedOf(sealed[0]!), 'the same wrapped key');
  }
  assert.equal(new Set(sealed.map((s) => ivOf(s).toString('hex'))).size, 5, 'a fresh IV each seal');
  const other = await sealer.seal(Buffer.from('{}'), { id: 'ctr/b', version: 1 });
  assert.equal(calls.wrap, 2, 'another record has its own key');
  assert.notDeepEqual(wrappedOf(other), wrappedOf(sealed[0]!));
  // The AAD still binds id and version under the shared key.
  await assert.rejects(unseal(hsm, sealed[1]!, { id: 'ctr/a', version: 1 }, { bind: BIND }), (e) => isEbakError(e, 'AUTH_FAILED'));
  await assert.rejects(sealer.unseal(sealed[1]!, { id: 'ctr/a', version: 1 }), (e) => isEbakError(e, 'AUTH_FAILED'));
});

test('a data key is renewed after its seal bound', async () => {
  const { calls, sealer } = counted({ maxSeals: 3 });
  const sealed: Buffer[] = [];
  for (let v = 1; v <= 7; v++) sealed.push(await sealer.seal(Buffer.from('x'), { id: 'r', version: v }));
  assert.equal(calls.wrap, 3, 'seals 1-3, 4-6, 7');
  const keys = sealed.map((s) => wrappedOf(s).toString('hex'));
  assert.deepEqual([keys[0] === keys[2], keys[2] !== keys[3], keys[3] === keys[5], keys[5] !== keys[6]], [true, true, true, true]);
  for (const [i, s] of sealed.entries()) assert.equal((await unseal(hsm, s, { id: 'r', version: i + 1 }, { bind: BIND })).toString(), 'x');
  assert.throws(() => counted({ maxSeals: 2 ** 32 + 1 }), (e) => isEbakError(e, 'USAGE'));
});

test('a data key is renewed after its age bound; a rotated ring reaches every record at its next renewal', async () => {
  let now = 0;
  const { calls, sealer } = counted({ maxAgeMs: 1000, now: () => now });
  const a1 = await sealer.seal(Buffer.from('a'), { id: 'a', version: 1 });
  const b1 = await sealer.seal(Buffer.from('b'), { id: 'b', version: 1 });
  const kek = (s: Buffer) => parseBlob(wrappedOf(s)).version;
  const before = kek(a1);
  await hsm.rotate('vault');
  now = 500;
  const a2 = await sealer.seal(Buffer.from('a'), { id: 'a', version: 2 });
  assert.equal(calls.wrap, 2, 'within its age a key is reused');
  assert.equal(kek(a2), before);
  now = 1000;
  const a3 = await sealer.seal(Buffer.from('a'), { id: 'a', version: 3 });
  assert.equal(calls.wrap, 3, 'past its age a fresh key is wrapped');
  assert.equal(kek(a3), before + 1, 'under the rotated KEK');
  now = 1001; // b's key is not yet of age, but it is of the older KEK version: dropped
  const b2 = await sealer.seal(Buffer.from('b'), { id: 'b', version: 2 });
  assert.equal(calls.wrap, 4);
  assert.equal(kek(b2), before + 1);
  for (const [s, id, v] of [[a1, 'a', 1], [a2, 'a', 2], [a3, 'a', 3], [b1, 'b', 1], [b2, 'b', 2]] as const) {
    assert.ok((await unseal(hsm, s, { id, version: v }, { bind: BIND })).length === 1);
  }
});

test('opening: a wrapped key seen before makes no unwrap, and the record is still authenticated', async () => {
  const { calls, sealer } = counted();
  const own = await sealer.seal(Buffer.from('own'), { id: 'o', version: 1 });
  assert.equal((await sealer.unseal(own, { id: 'o', version: 1 })).toString(), 'own');
  assert.equal(calls.unwrap, 0, 'a key it wrapped itself');
  const foreign = await seal(hsm, 'vault', Buffer.from('foreign'), { id: 'f', version: 1 }, { bind: BIND });
  assert.equal((await sealer.unseal(foreign, { id: 'f', version: 1 })).toString(), 'foreign');
  assert.equal((await sealer.unseal(foreign, { id: 'f', version: 1 })).toString(), 'foreign');
  assert.equal(calls.unwrap, 1, 'one unwrap for a key seen twice');
  const bad = Buffer.from(foreign);
  bad[bad.length - 1]! ^= 1;
  await assert.rejects(sealer.unseal(bad, { id: 'f', version: 1 }), (e) => isEbakError(e, 'AUTH_FAILED'));
  await assert.rejects(sealer.unseal(foreign, { id: 'g', version: 1 }), (e) => isEbakError(e, 'AUTH_FAILED'));
  const unbound = await seal(hsm, 'vault', Buffer.from('v1'), { id: 'f', version: 1 });
  await assert.rejects(sealer.unseal(unbound, { id: 'f', version: 1 }), (e) => isEbakError(e, 'AUTH_FAILED'));
  // A sealer's own records open on a fresh reader (another process) through the HSM as any other.
  assert.equal((await counted().sealer.unseal(own, { id: 'o', version: 1 })).toString(), 'own');
});

test('a ring rotated by another process reaches this one\'s next wrap, and so the sealer\'s next key', async () => {
  const other = await Pkcs11Hsm.open(env.config('s'));
  const mine = await Pkcs11Hsm.open(env.config('s'));
  try {
    const was = parseBlob(await mine.wrap('vault', Buffer.alloc(32, 1))).version;
    await other.rotate('vault'); // the token now refuses wraps under `was`, which `mine` still takes for current
    assert.equal(parseBlob(await mine.wrap('vault', Buffer.alloc(32, 2))).version, was + 1);
    await other.rotate('vault');
    const sealer = new RecordSealer(mine, 'vault', { bind: BIND });
    const sealed = await sealer.seal(Buffer.from('x'), { id: 'x', version: 1 });
    assert.equal(parseBlob(wrappedOf(sealed)).version, was + 2);
  } finally {
    await mine.close();
    await other.close();
  }
});
