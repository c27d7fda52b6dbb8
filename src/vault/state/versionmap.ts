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
 *   root  (store id "vmap/root", row version = epoch):
 *     0 4 "EBVM" | 4 1 format (1) | 5 8 epoch (u64 BE) | 13 32 prev (hash of the root it follows; zeros first)
 *     | 45 2 shard count S (u16 BE, 256) | 47 32·S shard digests | HMAC-SHA-256(map key, all bytes before)
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
const FORMAT = 1;
const HEAD = 47;

export interface Entry {
  readonly version: number;
  /** SHA-256 of the stored sealed row. */
  readonly hash: Buffer;
}

export type Shard = ReadonlyMap<string, Entry>;

export interface Root {
  readonly epoch: number;
  readonly prev: Buffer;
  readonly digests: readonly Buffer[];
}

export const mapKey = (recordKey: Uint8Array) => deriveKey(recordKey, 'vault-version-map');
export const shardOf = (id: string) => sha256(Buffer.from(id, 'utf8'))[0]!;
export const shardId = (k: number) => `${MAP_PREFIX}${k.toString(16).padStart(2, '0')}`;

function malformed(what: string): EbakError {
  return new EbakError('CORRUPT', `the vault version map is malformed (${what}); restore the state store from backup`);
}

export function encodeShard(k: number, shard: Shard): Buffer {
  const ids = [...shard.keys()].map((id) => Buffer.from(id, 'utf8')).sort(Buffer.compare);
  const parts: Buffer[] = [Buffer.concat([SHARD_MAGIC, Buffer.from([FORMAT, k]), u32(ids.length)])];
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
  if (b[4] !== FORMAT) throw new EbakError('UNSUPPORTED_VERSION', `vault version map format ${b[4]} is unknown to this build; upgrade ebak`);
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
  const count = Buffer.alloc(2);
  count.writeUInt16BE(SHARDS);
  const body = Buffer.concat([ROOT_MAGIC, Buffer.from([FORMAT]), u64(root.epoch), root.prev, count, ...root.digests]);
  return Buffer.concat([body, hmacSha256(key, body)]);
}

/** Checks the MAC: a root the enclave did not make is refused. */
export function decodeRoot(b: Buffer, key: Uint8Array): Root {
  if (b.length < HEAD || !b.subarray(0, 4).equals(ROOT_MAGIC)) throw malformed('root magic');
  if (b[4] !== FORMAT) throw new EbakError('UNSUPPORTED_VERSION', `vault version map format ${b[4]} is unknown to this build; upgrade ebak`);
  const s = b.readUInt16BE(45);
  if (s !== SHARDS || b.length !== HEAD + 32 * s + 32) throw malformed('root length');
  const body = b.subarray(0, b.length - 32);
  if (!timingSafeEqual(hmacSha256(key, body), b.subarray(b.length - 32))) {
    throw new EbakError('AUTH_FAILED', 'the vault version map root failed authentication: it was not made by this vault');
  }
  const digests = Array.from({ length: s }, (_, k) => Buffer.from(b.subarray(HEAD + 32 * k, HEAD + 32 * (k + 1))));
  return { epoch: Number(b.readBigUInt64BE(5)), prev: Buffer.from(b.subarray(13, 45)), digests };
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
