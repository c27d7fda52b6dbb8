/** Shared by the attestation tests: vectors, failure assertions, a seeded PRNG. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AttestationError, type AttestationCheck } from '../../src/attestation/index.js';
export { prng } from '../prng.js';

/** test/fixtures/nitro, found from the compiled dist/test/attestation. */
export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'nitro');

export interface Vector {
  file: string;
  bytes: Uint8Array;
  at: Date;
  maxAgeSeconds: number;
  expect: 'success' | 'debug';
  timestamp: string;
  moduleId: string;
  nonce: string;
  pcrs: Record<number, string>;
}

/** Loads vectors.json and checks that it covers every .cbor file in the folder (age's loader slip). */
export function loadVectors(): Vector[] {
  const table = JSON.parse(readFileSync(join(FIXTURES, 'vectors.json'), 'utf8')) as { vectors: Record<string, unknown>[] };
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.cbor')).sort();
  const vectors = table.vectors.map((v) => ({
    file: v.file as string,
    bytes: readFileSync(join(FIXTURES, v.file as string)),
    at: new Date(v.at as string),
    maxAgeSeconds: v.max_age_seconds as number,
    expect: v.expect as Vector['expect'],
    timestamp: v.timestamp as string,
    moduleId: v.module_id as string,
    nonce: v.nonce as string,
    pcrs: v.pcrs as Record<number, string>,
  }));
  assert.deepEqual(vectors.map((v) => v.file).sort(), files, 'vectors.json must list every .cbor fixture');
  assert.equal(vectors.length, 3, 'expected 3 real Nitro documents');
  return vectors;
}

export const awsRootPem = () => readFileSync(join(FIXTURES, 'aws-nitro-root-g1.pem'), 'utf8');

/** Runs fn and asserts it failed with EbakError('ATTESTATION') from one of `checks`; returns the error. */
export function failsWith(fn: () => unknown, ...checks: AttestationCheck[]): AttestationError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AttestationError, `expected AttestationError, got ${String(e)}`);
    assert.equal(e.code, 'ATTESTATION');
    assert.ok(checks.length === 0 || checks.includes(e.check), `check ${e.check} not in [${checks.join(', ')}]: ${e.message}`);
    assert.ok(!e.message.includes('\n'), 'message must be one line');
    return e;
  }
  assert.fail(`expected an attestation failure (${checks.join(' | ')}), but it verified`);
}

export function flip(bytes: Uint8Array, offset: number, mask = 0x01): Uint8Array {
  const out = Uint8Array.from(bytes);
  out[offset]! ^= mask;
  return out;
}

/** Offset of `needle` in `hay`; asserts it is there. */
export function offsetOf(hay: Uint8Array, needle: Uint8Array): number {
  const i = Buffer.from(hay.buffer, hay.byteOffset, hay.length).indexOf(Buffer.from(needle));
  assert.ok(i >= 0, 'needle not found');
  return i;
}

