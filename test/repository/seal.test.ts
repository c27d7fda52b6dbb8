/**
 * AES-256-GCM sealing (src/crypto/index.ts `seal`): the one-buffer output,
 * encrypted a chunk at a time behind an optional prefix (an object's
 * header), is byte for byte node:crypto's nonce ‖ ciphertext ‖ tag, for an
 * empty plaintext, a short one, and one over a chunk; and it opens. So is
 * `sealInto` with the plaintext sealed where it lies (a chunk buffer,
 * repository/blobbuffers.ts), pieces over the chunk size included.
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { open, seal, sealInto } from '../../src/crypto/index.js';

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
