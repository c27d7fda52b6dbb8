/**
 * AES-256-GCM sealing (src/crypto/index.ts `seal`): the one-buffer output,
 * encrypted a chunk at a time behind an optional prefix (an object's
 * header), is byte for byte node:crypto's nonce ‖ ciphertext ‖ tag, for an
 * empty plaintext, a short one, and one over a chunk; and it opens.
 */
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { open, seal } from '../../src/crypto/index.js';

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
