/**
 * Regenerates test/chunker/vectors.json from the current implementation.
 * Run only when the chunking format changes (a new format version):
 *   npx tsc -p . && node dist/test/chunker/make-vectors.js
 * then review the printed size statistics before committing.
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Cdc, chunkBuffer, DEFAULT_PARAMS, gearTable, type ChunkerParams } from '../../src/chunker/index.js';
import { makeInput, VECTORS_URL, type ChunkVector, type GearVector, type InputSpec, type VectorFile } from './vector-input.js';

const SEED_A = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex');
const SEED_B = 'ff'.repeat(32);
const ZERO_KEY = '00'.repeat(32);
const SMALL: ChunkerParams = { min: 2048, avg: 8192, max: 65536 };

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function gearVector(seed: string): GearVector {
  const t = gearTable(Buffer.from(seed, 'hex'));
  const hex = (i: number): string => t[i]!.toString(16).padStart(8, '0');
  return { seed, entries: { 0: hex(0), 1: hex(1), 2: hex(2), 255: hex(255) }, sha256: sha256(new Uint8Array(t.buffer)) };
}

function chunkVector(name: string, seed: string, params: ChunkerParams, input: InputSpec): ChunkVector {
  const chunks = chunkBuffer(makeInput(input), new Cdc(gearTable(Buffer.from(seed, 'hex')), params));
  const lengths = chunks.map((c) => c.length);
  const body = lengths.slice(0, -1);
  const mean = input.length / lengths.length;
  console.log(`${name}: ${lengths.length} chunks, mean ${mean.toFixed(0)} (avg ${params.avg}), min ${Math.min(...body)}, max ${Math.max(...body)}, last ${lengths.at(-1)}`);
  return { name, seed, params, input, lengths, sha256: chunks.map(sha256) };
}

const file: VectorFile = {
  version: 1,
  gear: [gearVector(SEED_A), gearVector(SEED_B)],
  chunks: [
    chunkVector('default params, 24 MiB keystream, seed A', SEED_A, DEFAULT_PARAMS, { kind: 'aes-256-ctr', key: ZERO_KEY, length: 24 << 20 }),
    chunkVector('default params, 24 MiB keystream, seed B', SEED_B, DEFAULT_PARAMS, { kind: 'aes-256-ctr', key: ZERO_KEY, length: 24 << 20 }),
    chunkVector('small params, 1 MiB keystream, seed A', SEED_A, SMALL, { kind: 'aes-256-ctr', key: ZERO_KEY, length: 1 << 20 }),
    chunkVector('small params, 200000 zero bytes (no cut: max-size chunks)', SEED_A, SMALL, { kind: 'zero', length: 200000 }),
    chunkVector('small params, min+1 bytes (one short chunk)', SEED_A, SMALL, { kind: 'aes-256-ctr', key: ZERO_KEY, length: SMALL.min + 1 }),
  ],
};
writeFileSync(VECTORS_URL, JSON.stringify(file, null, 1) + '\n');
console.log(`wrote ${VECTORS_URL.pathname}`);
