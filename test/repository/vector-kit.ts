/**
 * Shared by the repository format tests and test/repository/make-vectors.ts:
 * the shapes of the vector files in test/repository/vectors/, their loader,
 * byte edits (mutations named in the files), and an outcome recorder that
 * reduces any result to a comparable string (an EbakError's code, never its text).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { EbakError } from '../../src/errors.js';
import { openBlob } from '../../src/repository/blob.js';
import { parseKeyFile, unwrapKeyFile } from '../../src/repository/format/keyfile.js';
import { decodeObject, type ObjectTypeName } from '../../src/repository/format/object.js';
import { decodePack, type PackKeyOf } from '../../src/repository/format/pack.js';
import type { TreeNode } from '../../src/repository/format/tree.js';

export const VECTOR_DIR = new URL('../../../test/repository/vectors/', import.meta.url);

/** The master key every vector derives from: bytes 0x00..0x1f. */
export const MASTER_HEX = Buffer.from(Array.from({ length: 32 }, (_, i) => i)).toString('hex');

/** The repository id of the vectors that need one (HPKE's info): bytes 0x20..0x3f. */
export const REPOSITORY_ID_HEX = Buffer.from(Array.from({ length: 32 }, (_, i) => 0x20 + i)).toString('hex');

/**
 * The writing settings every vector was made with (new repositories' defaults
 * when they were made). Pinned: the vectors are frozen bytes, so a later change
 * of the defaults must not move them.
 */
export const VECTOR_WRITING = {
  chunker: { min: 512 * 1024, avg: 1024 * 1024, max: 8 * 1024 * 1024 },
  compression_level: 3,
  pack_size: 16 * 1024 * 1024,
};

/** One byte-level edit. Negative offsets count from the end. */
export type Edit =
  | { op: 'xor'; at: number; mask: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'u32le'; at: number; value: number }
  | { op: 'truncate'; length: number }
  | { op: 'append'; hex: string }
  | { op: 'swap'; a: [number, number]; b: [number, number] };

/** "ok", "undefined" (a key file that does not open), or an EbakError code. */
export type Outcome = string;

export interface Mutation {
  name: string;
  edits: Edit[];
  expect: Outcome;
}

export interface SubkeyFile {
  master: string;
  subkeys: { blobId: string; gearSeed: string; pack: string; object: string };
  objectKey: { salt: string; key: string };
  packKey: { salt: string; key: string };
  recoveryKek: { code: string; salt: string; key: string };
  blobIds: { data: string; id: string }[];
  objectIds: { data: string; id: string }[];
}

export interface ObjectVector {
  name: string;
  type: ObjectTypeName;
  /** The stored object, as written by encodeObject. */
  hex: string;
  /** Its storage name: SHA-256 of the bytes (config is named "config"). */
  id: string;
  /** Header flags byte: 1 when the payload was zstd-compressed. */
  flags: number;
  payload: string;
  /** decodeAs: read the bytes as another type; wrongKey: with another master key's object key. */
  mutations: (Mutation & { decodeAs?: ObjectTypeName; wrongKey?: boolean })[];
}

export interface BlobVector {
  type: number;
  flags: number;
  id: string;
  offset: number;
  length: number;
  rawLength: number;
  plaintext: string;
}

export interface PackVector {
  name: string;
  hex: string;
  id: string;
  kind: number;
  keySource: number;
  salt: string;
  blobs: BlobVector[];
  /** stage: where the reader must stop ("decodePack", or "openBlob" after a header that authenticates). */
  mutations: (Mutation & { stage?: 'decodePack' | 'openBlob'; wrongKey?: boolean })[];
}

export interface IndexJson {
  packs: { id: string; salt: string; kind: number; keySource: number; blobs: Omit<BlobVector, 'plaintext'>[] }[];
  superseded: string[];
}

export interface IndexFileVectors {
  valid: { name: string; payload: string; decoded: IndexJson }[];
  invalid: { name: string; payload: string; expect: Outcome }[];
}

export interface TreeFileVectors {
  valid: { name: string; nodes: TreeNode[]; bytes: string; blobId: string }[];
  invalid: { name: string; json: string; expect: Outcome }[];
}

/**
 * trees.json is frozen as format 1 wrote it. One of its invalid trees,
 * "version 2", recorded that a format-1 reader refused version 2; since
 * format 2 that document is the empty version-2 tree (trees-v2.json).
 */
export const SUPERSEDED_TREE_VECTORS = new Set(['version 2']);

/**
 * trees-v2.json is frozen too. Its "version 3" recorded that a reader of
 * versions 1 and 2 refused version 3 (UNSUPPORTED_VERSION); since split
 * directories, version 3 is a split directory's root, and that document,
 * `nodes` and no `parts`, is CORRUPT (test/vectors/trees-v3.json).
 */
export const SUPERSEDED_TREE_V2_OUTCOMES = new Map<string, Outcome>([['version 3', 'CORRUPT']]);

/** trees-v2.json: `names` are the hex of each entry's name bytes, in tree order. */
export interface TreeV2FileVectors {
  valid: { name: string; bytes: string; blobId: string; names: string[] }[];
  invalid: { name: string; json: string; expect: Outcome }[];
}

export interface PayloadFileVectors {
  config: { name: string; json: string; expect: Outcome }[];
  snapshot: { name: string; json: string; expect: Outcome }[];
}

export interface KeyFileVector {
  name: string;
  /** The exact stored bytes (UTF-8 JSON) and their name, SHA-256 of them. */
  text: string;
  id: string;
  secret: string;
  mutations: { name: string; secret?: string; set?: { path: string[]; value: unknown }; text?: string; expect: Outcome }[];
}

export interface KeyFileVectors {
  master: string;
  files: KeyFileVector[];
}

export function loadVectors<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, VECTOR_DIR), 'utf8')) as T;
}

const pos = (at: number, len: number) => (at < 0 ? len + at : at);

export function applyEdits(bytes: Buffer, edits: readonly Edit[]): Buffer {
  let b = Buffer.from(bytes);
  for (const e of edits) {
    if (e.op === 'xor') b[pos(e.at, b.length)]! ^= e.mask;
    else if (e.op === 'set') b[pos(e.at, b.length)] = e.value;
    else if (e.op === 'u32le') b.writeUInt32LE(e.value, pos(e.at, b.length));
    else if (e.op === 'truncate') b = b.subarray(0, e.length);
    else if (e.op === 'append') b = Buffer.concat([b, Buffer.from(e.hex, 'hex')]);
    else {
      const [a0, a1] = [e.a[0], e.a[0] + e.a[1]];
      const [b0, b1] = [e.b[0], e.b[0] + e.b[1]];
      b = Buffer.concat([b.subarray(0, a0), b.subarray(b0, b1), b.subarray(a1, b0), b.subarray(a0, a1), b.subarray(b1)]);
    }
  }
  return b;
}

/** Runs `fn`; its outcome is "ok", "undefined", or the EbakError code. Anything else is a test failure. */
export async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    const v = await fn();
    return v === undefined ? 'undefined' : 'ok';
  } catch (e) {
    if (e instanceof EbakError) return e.code;
    throw e;
  }
}

/** Synchronous twin of `outcome` for the decoders (most are synchronous). */
export function outcomeSync(fn: () => unknown): Outcome {
  try {
    return fn() === undefined ? 'undefined' : 'ok';
  } catch (e) {
    if (e instanceof EbakError) return e.code;
    throw e;
  }
}

/** The reader's whole path for an encrypted object: what `Repository.loadObject` does after the name check. */
export function objectOutcome(objectKey: Buffer, type: ObjectTypeName, bytes: Buffer): Outcome {
  return outcomeSync(() => decodeObject(objectKey, type, bytes, 'vector object'));
}

/** A pack read in full, as `ebak check --read-data` does: header first (either key source: `keyOf`), then every blob it lists. */
export async function packOutcome(keyOf: PackKeyOf, blobIdKey: Buffer, bytes: Buffer): Promise<{ stage?: 'decodePack' | 'openBlob'; expect: Outcome; plaintexts: Buffer[] }> {
  let decoded: Awaited<ReturnType<typeof decodePack>>;
  try {
    decoded = await decodePack(keyOf, bytes, 'vector pack');
  } catch (e) {
    return { stage: 'decodePack', expect: codeOf(e), plaintexts: [] };
  }
  const plaintexts: Buffer[] = [];
  for (const e of decoded.entries) {
    try {
      plaintexts.push(openBlob(decoded.key, blobIdKey, e, bytes.subarray(e.offset, e.offset + e.length), 'vector blob'));
    } catch (err) {
      return { stage: 'openBlob', expect: codeOf(err), plaintexts: [] };
    }
  }
  return { expect: 'ok', plaintexts };
}

/** A key file from its stored text: parse, then unwrap. "ok" only when the unwrapped key is `master`. */
export async function keyFileOutcome(text: string, secret: string, master: Buffer): Promise<Outcome> {
  return outcome(async () => {
    const mk = await unwrapKeyFile(parseKeyFile(Buffer.from(text, 'utf8'), 'vector key'), secret, 'vector key');
    if (mk && !mk.equals(master)) throw new Error('a key file unwrapped to a key other than the master key');
    return mk;
  });
}

/** The key file text after one JSON-level mutation, serialised as the repository writes key files. */
export function mutateKeyFile(text: string, m: Pick<KeyFileVector['mutations'][number], 'text' | 'set'>): string {
  if (m.text !== undefined) return m.text;
  if (!m.set) return text;
  const doc = JSON.parse(text) as Record<string, unknown>;
  let at = doc;
  for (const p of m.set.path.slice(0, -1)) at = at[p] as Record<string, unknown>;
  at[m.set.path.at(-1)!] = m.set.value;
  return serialiseKeyFile(doc);
}

/** As src/repository/repository.ts saveKeyFile writes them: 2-space indented JSON. */
export function serialiseKeyFile(f: unknown): string {
  return JSON.stringify(f, null, 2);
}

function codeOf(e: unknown): Outcome {
  if (e instanceof EbakError) return e.code;
  throw e;
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A vector generator's checks: every outcome it records must be the one it states, or it writes nothing. */
export class GeneratorChecks {
  private readonly problems: string[] = [];

  expectSame = (what: string, got: unknown, want: unknown): void => {
    if (JSON.stringify(got) !== JSON.stringify(want)) this.problems.push(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  };

  /** Writes `doc` to `file` when every check held; else prints the problems and exits 1. */
  write(file: URL, doc: unknown): void {
    if (this.problems.length) {
      console.error(this.problems.join('\n'));
      process.exit(1);
    }
    writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
    console.log(`wrote ${file.pathname}`);
  }
}
