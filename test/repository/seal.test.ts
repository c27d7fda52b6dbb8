/**
 * AES-256-GCM sealing (src/crypto/index.ts `seal`): the one-buffer output,
 * encrypted a chunk at a time behind an optional prefix (an object's
 * header), is byte for byte node:crypto's nonce ‖ ciphertext ‖ tag, for an
 * empty plaintext, a short one, and one over a chunk; and it opens. So is
 * `sealInto` with the plaintext sealed where it lies (a chunk buffer,
 * repository/blobbuffers.ts), pieces over the chunk size included. `openInto`
 * (a caller's reused buffer, decrypted a piece at a time) gives what `open`
 * gives, and refuses what it refuses, leaving no plaintext behind.
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { open, openInto, seal, sealInto } from '../../src/crypto/index.js';

function reference(key: Buffer, plaintext: Buffer, aad: Buffer, nonce: Buffer): Buffer {
  const c = createCipheriv('aes-256-gcm', key, nonce).setAAD(aad);
  return Buffer.concat([nonce, c.update(plaintext), c.final(), c.getAuthTag()]);
}

test('seal: prefix ‖ nonce ‖ ciphertext ‖ tag in one buffer, the bytes node:crypto gives; it opens', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = Buffer.from('header');
  for (const size of [0, 5, (1 << 20) + 3, 3 * (1 << 20)]) {
    const plaintext = randomBytes(size);
    for (const prefix of [Buffer.alloc(0), Buffer.from('object header')]) {
      const out = seal(key, plaintext, aad, nonce, prefix);
      assert.deepEqual(out, Buffer.concat([prefix, reference(key, plaintext, aad, nonce)]), `${size} bytes behind ${prefix.length}`);
      assert.deepEqual(open(key, out.subarray(prefix.length), aad, 'x'), plaintext);
    }
  }
  assert.deepEqual(seal(key, Buffer.from('abc'), aad, nonce), reference(key, Buffer.from('abc'), aad, nonce));
});

test('sealInto: the plaintext sealed where it lies gives the same bytes; too little room is refused', () => {
  const key = randomBytes(32);
  const nonce = randomBytes(12);
  const aad = Buffer.from('blob');
  for (const size of [0, 5, (1 << 20) + 3, 3 * (1 << 20)]) {
    const plaintext = randomBytes(size);
    const room = Buffer.alloc(12 + size + 16 + 7, 0xee);
    plaintext.copy(room, 12);
    const n = sealInto(key, room.subarray(12, 12 + size), aad, room, 0, nonce);
    assert.equal(n, 12 + size + 16);
    assert.deepEqual(room.subarray(0, n), reference(key, plaintext, aad, nonce), `${size} bytes in place`);
    assert.deepEqual(room.subarray(n), Buffer.alloc(7, 0xee), 'nothing written past the tag');
  }
  assert.throws(() => sealInto(key, Buffer.alloc(10), aad, Buffer.alloc(37), 0, nonce), /needs 38 bytes/);
});

test('openInto: the plaintext open gives, as a view of the buffer given, for sizes around its piece size; an altered one is refused and wiped', () => {
  const key = randomBytes(32);
  const aad = Buffer.from('blob');
  const out = Buffer.alloc(3 * (1 << 20) + 16);
  for (const size of [0, 5, 65536, 65537, 3 * 65536 - 1, 3 * (1 << 20)]) {
    const plaintext = randomBytes(size);
    const sealed = seal(key, plaintext, aad);
    const got = openInto(key, sealed, aad, 'x', out);
    assert.deepEqual(got, plaintext, `${size} bytes`);
    assert.equal(got.buffer, out.buffer, 'into the buffer given');
    const altered = Buffer.from(sealed);
    altered[altered.length - 1]! ^= 1;
    out.fill(0xee);
    assert.throws(() => openInto(key, altered, aad, 'x', out), (e) => isEbakError(e, 'AUTH_FAILED'));
    assert.ok(out.subarray(0, size).every((b) => b === 0), 'no unauthenticated plaintext left in the buffer');
  }
  assert.throws(() => openInto(key, seal(key, Buffer.alloc(10), aad), aad, 'x', Buffer.alloc(9)), /needs 10 bytes/);
});
