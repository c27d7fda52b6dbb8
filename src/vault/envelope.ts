/**
 * Key envelopes the vault flow defines (docs/vault.md "Envelopes"). The vault
 * stores and releases them but can open none: it never holds the OPAQUE
 * export_key, and device keys open nothing without the device's file.
 *
 * envelope v1 = 0x01 ‖ nonce (12) ‖ AES-256-GCM(KEK, K (32)) ‖ tag (16), base64url
 *   vault envelope:  KEK = HKDF-SHA-256(export_key, info "ebak/v1/vault-envelope"),
 *                    AAD = "ebak/vault-envelope/v1\0" ‖ account
 *   device envelope: KEK = HKDF-SHA-256(device_key, info "ebak/v1/device-envelope"),
 *                    AAD = "ebak/device-envelope/v1\0" ‖ account ‖ "\0" ‖ device id
 *   link envelope:   KEK = HKDF-SHA-256(an older or newer master key, info "ebak/v1/link-envelope"),
 *                    AAD = "ebak/link-envelope/v1\0" ‖ account (a master-key rotation's, docs/vault.md)
 * unlock secret = hex(HKDF-SHA-256(recovery code digits, info "ebak/v1/vault-unlock"));
 * the vault stores only SHA-256 of it (hex), to unlock a locked account.
 */
import { randomBytes } from 'node:crypto';
import { deriveKey, open, seal, sha256 } from '../crypto/index.js';
import { EbakError } from '../errors.js';

export const ENVELOPE_VERSION = 1;
const K_BYTES = 32;
const LENGTH = 1 + 12 + K_BYTES + 16;

export type EnvelopeKind = 'vault' | 'device' | 'link';

function aad(kind: EnvelopeKind, binding: string): Buffer {
  return Buffer.from(`ebak/${kind}-envelope/v1\0${binding}`, 'utf8');
}

/** `nonce` is injectable only for the documented test vector. */
export function wrapMasterKey(kind: EnvelopeKind, secret: Uint8Array, binding: string, masterKey: Uint8Array, nonce: Buffer = randomBytes(12)): string {
  if (masterKey.length !== K_BYTES) throw new EbakError('USAGE', 'the master key must be 32 bytes');
  const kek = deriveKey(secret, `${kind}-envelope`);
  try {
    return Buffer.concat([Uint8Array.of(ENVELOPE_VERSION), seal(kek, masterKey, aad(kind, binding), nonce)]).toString('base64url');
  } finally {
    kek.fill(0);
  }
}

/** K, or undefined when `secret` is not the one that wrapped it (wrong password's export key, wrong device key). */
export function unwrapMasterKey(kind: EnvelopeKind, secret: Uint8Array, binding: string, envelope: string): Buffer | undefined {
  const raw = Buffer.from(envelope, 'base64url');
  if (raw.length !== LENGTH || raw.toString('base64url') !== envelope) throw new EbakError('CORRUPT', `the ${kind} key envelope is malformed (${raw.length} bytes)`);
  if (raw[0] !== ENVELOPE_VERSION) throw new EbakError('UNSUPPORTED_VERSION', `${kind} key envelope version ${raw[0]} is unknown to this build; upgrade ebak`);
  const kek = deriveKey(secret, `${kind}-envelope`);
  try {
    return open(kek, raw.subarray(1), aad(kind, binding), `${kind} key envelope`);
  } catch (e) {
    if (e instanceof EbakError && e.code === 'AUTH_FAILED') return undefined;
    throw e;
  } finally {
    kek.fill(0);
  }
}

export function unlockSecret(recoveryDigits: string): string {
  return deriveKey(Buffer.from(recoveryDigits, 'utf8'), 'vault-unlock').toString('hex');
}

export function unlockHash(secretHex: string): string {
  return sha256(Buffer.from(secretHex, 'hex')).toString('hex');
}
