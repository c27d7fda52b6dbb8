/**
 * Content-defined chunking for the backup hot path: FastCDC with a gear table
 * derived from the repository's secret seed. Owns the cut-point algorithm, the
 * gear derivation, parameter validation and reading files as chunks.
 * Byte-exact specification and test vectors: docs/chunker.md.
 */
export { DEFAULT_PARAMS, validateParams, type ChunkerParams } from './params.js';
export { gearTable, GEAR_INFO, GEAR_SEED_BYTES } from './gear.js';
export { Cdc } from './cdc.js';
export { chunkFile, chunkBuffer, DEFAULT_READ_SIZE, type ChunkAlloc, type ChunkSource } from './stream.js';
