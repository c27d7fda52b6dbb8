/**
 * The version map's byte formats (version map v1, docs/vault.md "Rollback
 * guard at scale"): which version of every sealed record is the newest, and
 * the hash of that exact copy, in 256 shards under one root; the HSM's
 * rollback register (src/hsm/pkcs11/register.ts) holds (epoch, SHA-256 of
 * the root). Nothing here is secret (record ids are the store's keys
 * anyway), so shards are plain bytes authenticated by their digest in the
 * root, and the root by an HMAC under a key derived from the enclave's
 * record key (so only the enclave can make a successor root).
 *
 *   root  (store id "vmap/root", row version = epoch), format 2:
 *     0 4 "EBVM" | 4 1 format (2) | 5 8 epoch (u64 BE) | 13 32 prev (hash of the root it follows; zeros first)
 *     | 45 1 ancestor count a (≤ 64) | 46 32·a ancestors (the hashes of the roots of epochs epoch-2, epoch-3, …)
 *     | 2 shard count S (u16 BE, 256) | 32·S shard digests | HMAC-SHA-256(map key, all bytes before)
 *   format 1 (still read, as a root with no ancestors): no ancestor count and no ancestors.
 *   shard (store id "vmap/<k, 2 hex>", row version = the epoch that wrote it; absent while empty):
 *     0 4 "EBVS" | 4 1 format (1) | 5 1 k | 6 4 entry count n (u32 BE)
 *     | n × (u16 BE len(id) | id (UTF-8) | u64 BE version | 32 SHA-256(stored sealed row)), ids in byte order
 *   root hash = SHA-256(root bytes); shard digest = SHA-256(shard bytes); k = SHA-256(id)[0];
 *   map key = HKDF-SHA-256(record key, info "ebak/v1/vault-version-map").
 */
import { timingSafeEqual } from 'node:crypto';
import { deriveKey, hmacSha256, sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';

export const SHARDS = 256;
export const ROOT_ID = 'vmap/root';
export const MAP_PREFIX = 'vmap/';
const ROOT_MAGIC = Buffer.from('EBVM', 'ascii');
const SHARD_MAGIC = Buffer.from('EBVS', 'ascii');
const SHARD_FORMAT = 1;
const ROOT_FORMAT = 2;
/**
 * Roots a root names before its prev: how far another replica may build on a batch whose writer has not yet
 * learnt that it was registered (commit.ts registeredElsewhere) and still be answered. 64 × 32 bytes per root.
 */
export const ANCESTORS = 64;

export interface Entry {
  readonly version: number;
  /** SHA-256 of the stored sealed row. */
  readonly hash: Buffer;
}

export type Shard = ReadonlyMap<string, Entry>;

export interface Root {
  readonly epoch: number;
  readonly prev: Buffer;
  /** The hashes of the roots of epochs epoch-2, epoch-3, … (at most ANCESTORS; none in a format 1 root). */
  readonly ancestors: readonly Buffer[];
  readonly digests: readonly Buffer[];
}

/** The hash of the root of `epoch` as `root` names it (its own hash given), or undefined beyond what it names. */
export function ancestorHash(root: Root, hash: Buffer, epoch: number): Buffer | undefined {
  const back = root.epoch - epoch;
  if (back === 0) return hash;
  return back === 1 ? root.prev : root.ancestors[back - 2];
}

/** The ancestors a successor of `root` names: `root`'s prev (none before epoch 1's), then `root`'s own, up to ANCESTORS. */
export function successorAncestors(root: Root): Buffer[] {
  return root.epoch <= 1 ? [] : [root.prev, ...root.ancestors].slice(0, ANCESTORS);
}

export const mapKey = (recordKey: Uint8Array) => deriveKey(recordKey, 'vault-version-map');
export const shardOf = (id: string) => sha256(Buffer.from(id, 'utf8'))[0]!;
export const shardId = (k: number) => `${MAP_PREFIX}${k.toString(16).padStart(2, '0')}`;

function malformed(what: string): EbakError {
  return new EbakError('CORRUPT', `the vault version map is malformed (${what}); restore the state store from backup`);
}

export function encodeShard(k: number, shard: Shard): Buffer {
  const ids = [...shard.keys()].map((id) => Buffer.from(id, 'utf8')).sort(Buffer.compare);
  const parts: Buffer[] = [Buffer.concat([SHARD_MAGIC, Buffer.from([SHARD_FORMAT, k]), u32(ids.length)])];
  for (const id of ids) {
    const e = shard.get(id.toString('utf8'))!;
    const len = Buffer.alloc(2);
    len.writeUInt16BE(id.length);
    parts.push(len, id, u64(e.version), e.hash);
  }
  return Buffer.concat(parts);
}

export function decodeShard(k: number, b: Buffer): Map<string, Entry> {
  if (b.length < 10 || !b.subarray(0, 4).equals(SHARD_MAGIC)) throw malformed('shard magic');
  if (b[4] !== SHARD_FORMAT) throw unknownFormat(b[4]);
  if (b[5] !== k) throw malformed(`shard ${k} holds shard ${b[5]}`);
  const out = new Map<string, Entry>();
  let at = 10;
  for (let n = b.readUInt32BE(6); n > 0; n--) {
    if (at + 2 > b.length) throw malformed('shard truncated');
    const len = b.readUInt16BE(at);
    if (at + 2 + len + 40 > b.length) throw malformed('shard truncated');
    const id = b.subarray(at + 2, at + 2 + len).toString('utf8');
    at += 2 + len;
    out.set(id, { version: Number(b.readBigUInt64BE(at)), hash: Buffer.from(b.subarray(at + 8, at + 40)) });
    at += 40;
  }
  if (at !== b.length) throw malformed('trailing bytes in a shard');
  return out;
}

export const EMPTY_DIGESTS: readonly Buffer[] = Array.from({ length: SHARDS }, (_, k) => sha256(encodeShard(k, new Map())));

export function encodeRoot(root: Root, key: Uint8Array): Buffer {
  if (root.digests.length !== SHARDS || root.prev.length !== 32) throw new EbakError('USAGE', 'a version map root has 256 shard digests and a 32-byte prev');
  if (root.ancestors.length > ANCESTORS || root.ancestors.some((a) => a.length !== 32)) throw new EbakError('USAGE', `a version map root names at most ${ANCESTORS} 32-byte ancestors`);
  const count = Buffer.alloc(2);
  count.writeUInt16BE(SHARDS);
  const body = Buffer.concat([ROOT_MAGIC, Buffer.from([ROOT_FORMAT]), u64(root.epoch), root.prev, Buffer.from([root.ancestors.length]), ...root.ancestors, count, ...root.digests]);
  return Buffer.concat([body, hmacSha256(key, body)]);
}

/** Checks the MAC: a root the enclave did not make is refused. Reads formats 1 and 2. */
export function decodeRoot(b: Buffer, key: Uint8Array): Root {
  if (b.length < 46 || !b.subarray(0, 4).equals(ROOT_MAGIC)) throw malformed('root magic');
  if (b[4] !== 1 && b[4] !== ROOT_FORMAT) throw unknownFormat(b[4]);
  const a = b[4] === 1 ? 0 : b[45]!;
  const head = b[4] === 1 ? 47 : 48 + 32 * a;
  if (a > ANCESTORS || b.length < head || b.readUInt16BE(head - 2) !== SHARDS || b.length !== head + 32 * SHARDS + 32) throw malformed('root length');
  const body = b.subarray(0, b.length - 32);
  if (!timingSafeEqual(hmacSha256(key, body), b.subarray(b.length - 32))) {
    throw new EbakError('AUTH_FAILED', 'the vault version map root failed authentication: it was not made by this vault');
  }
  const hashes = (at: number, n: number) => Array.from({ length: n }, (_, k) => Buffer.from(b.subarray(at + 32 * k, at + 32 * (k + 1))));
  return { epoch: Number(b.readBigUInt64BE(5)), prev: Buffer.from(b.subarray(13, 45)), ancestors: hashes(46, a), digests: hashes(head, SHARDS) };
}

function unknownFormat(format: number | undefined): EbakError {
  return new EbakError('UNSUPPORTED_VERSION', `vault version map format ${format} is unknown to this build; upgrade ebak`);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u64(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}
