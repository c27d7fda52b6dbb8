/** The KMS vector file's shape and loader, shared by make-vectors.ts (writes it) and vectors.test.ts (checks it). */
import { readFileSync } from 'node:fs';

export const VECTORS_URL = new URL('../../../test/kms/vectors/vectors.json', import.meta.url);

export type Expect = 'success' | 'AUTH_FAILED' | 'CORRUPT';

/** A CMS recipient envelope sealed with fixed randomness: CEK (32), IV (16), OAEP seed (32), in that order. */
export interface EnvelopeVector { name: string; expect: Expect; private_key_pkcs8_pem: string; random: string; plaintext: string; envelope: string }

/** A key-service CiphertextBlob (docs/kms.md) under fixed material and nonce, opened with `context`. */
export interface BlobVector { name: string; expect: Expect; material: string; key_id: string; seal_context: Record<string, string>; context: Record<string, string>; nonce: string; plaintext: string; blob: string }

export interface VectorFile { envelopes: EnvelopeVector[]; blobs: BlobVector[] }

export const loadVectors = (): VectorFile => JSON.parse(readFileSync(VECTORS_URL, 'utf8')) as VectorFile;

/** A RandomSource that hands out `hex` in order and fails if asked for more. */
export function fixedRandom(hex: string): (n: number) => Buffer {
  const bytes = Buffer.from(hex, 'hex');
  let at = 0;
  return (n) => {
    if (at + n > bytes.length) throw new Error('fixed randomness exhausted');
    at += n;
    return Buffer.from(bytes.subarray(at - n, at));
  };
}
