/**
 * Deterministic inputs named by the chunker test vectors (docs/chunker.md, "Test vectors").
 * Shared by vectors.test.ts and make-vectors.ts.
 */
import { createCipheriv } from 'node:crypto';
import type { ChunkerParams } from '../../src/chunker/index.js';

export type InputSpec =
  | { readonly kind: 'aes-256-ctr'; readonly key: string; readonly length: number }
  | { readonly kind: 'zero'; readonly length: number };

export interface ChunkVector {
  readonly name: string;
  readonly seed: string;
  readonly params: ChunkerParams;
  readonly input: InputSpec;
  readonly lengths: number[];
  readonly sha256: string[];
}

export interface GearVector {
  readonly seed: string;
  /** Entries 0, 1, 2 and 255 as 8-digit hex. */
  readonly entries: Record<string, string>;
  /** SHA-256 of the table serialised as 1024 little-endian bytes. */
  readonly sha256: string;
}

export interface VectorFile {
  readonly version: 1;
  readonly gear: GearVector[];
  readonly chunks: ChunkVector[];
}

/** AES-256-CTR keystream under `key` with a zero 16-byte initial counter block, or zero bytes. */
export function makeInput(spec: InputSpec): Buffer {
  if (spec.kind === 'zero') return Buffer.alloc(spec.length);
  const cipher = createCipheriv('aes-256-ctr', Buffer.from(spec.key, 'hex'), Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(spec.length)), cipher.final()]);
}

/** Same keystream as makeInput, convenient for property tests. */
export function keystream(length: number, keyByte = 0): Buffer {
  return makeInput({ kind: 'aes-256-ctr', key: Buffer.alloc(32, keyByte).toString('hex'), length });
}

export const VECTORS_URL = new URL('../../../test/chunker/vectors.json', import.meta.url);
