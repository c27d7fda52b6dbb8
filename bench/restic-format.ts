/**
 * Just enough of restic's repository format (restic's "References → Design":
 * https://restic.readthedocs.io/en/stable/100_references.html) to add
 * snapshot files to a repository restic itself made, so the prune benchmark
 * can hold 10,000 snapshots without 10,000 restic processes (restic 0.14 pays
 * ~0.45 s CPU of scrypt per run, and one process per snapshot is hours).
 *
 *  - keys/<id>: JSON with scrypt parameters and `data`, the master key
 *    encrypted under scrypt(password) (64 bytes: AES-256 key, Poly1305-AES k, r);
 *  - every file: IV (16) ‖ AES-256-CTR ciphertext ‖ Poly1305-AES MAC (16) of
 *    the ciphertext, the MAC's s = AES-K(IV); its name is SHA-256 of the bytes;
 *  - a snapshot's plaintext is its JSON (repository v2 also allows a version
 *    byte and zstd; a plaintext starting with `{` is read as uncompressed JSON).
 *
 * Only the bench uses this: it copies a snapshot restic wrote, changing its
 * time (and parent), so every added snapshot points at a tree restic wrote.
 * `restic check` and `restic snapshots` accept the result (bench/prune.ts runs check).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { poly1305 } from '@noble/ciphers/_poly1305.js';

// zstd-napi is CommonJS without named ESM exports.
const { decompress } = createRequire(import.meta.url)('zstd-napi') as typeof import('zstd-napi');

interface MacKey {
  readonly k: Buffer;
  readonly r: Buffer;
}

export interface ResticKey {
  readonly encrypt: Buffer;
  readonly mac: MacKey;
}

const IV = 16;
const TAG = 16;

function mac(key: MacKey, iv: Buffer, ciphertext: Buffer): Buffer {
  const aes = createCipheriv('aes-128-ecb', key.k, null).setAutoPadding(false);
  const s = Buffer.concat([aes.update(iv), aes.final()]);
  // poly1305 clamps r itself, as restic's poly1305PrepareKey does.
  return Buffer.from(poly1305(ciphertext, Buffer.concat([key.r, s])));
}

/** Authenticates, then decrypts one restic file. */
export function open(key: ResticKey, file: Buffer): Buffer {
  if (file.length < IV + TAG) throw new Error('restic file too short');
  const iv = file.subarray(0, IV);
  const ct = file.subarray(IV, file.length - TAG);
  if (!timingSafeEqual(mac(key.mac, iv, ct), file.subarray(file.length - TAG))) throw new Error('restic file: MAC mismatch');
  const d = createDecipheriv('aes-256-ctr', key.encrypt, iv);
  return Buffer.concat([d.update(ct), d.final()]);
}

export function seal(key: ResticKey, plaintext: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-ctr', key.encrypt, iv);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([iv, ct, mac(key.mac, iv, ct)]);
}

interface KeyFile {
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
}

/** The master key of `repo`, from its first key file and `password` (one scrypt). */
export function masterKey(repo: string, password: string): ResticKey {
  const name = readdirSync(join(repo, 'keys'))[0];
  if (name === undefined) throw new Error(`${repo}: no restic key file`);
  const kf = JSON.parse(readFileSync(join(repo, 'keys', name), 'utf8')) as KeyFile;
  if (kf.kdf !== 'scrypt') throw new Error(`${repo}: key file kdf ${kf.kdf}`);
  const user = scryptSync(password, Buffer.from(kf.salt, 'base64'), 64, { N: kf.N, r: kf.r, p: kf.p, maxmem: 256 * kf.N * kf.r + (1 << 20) });
  const userKey: ResticKey = { encrypt: user.subarray(0, 32), mac: { k: user.subarray(32, 48), r: user.subarray(48, 64) } };
  const m = JSON.parse(open(userKey, Buffer.from(kf.data, 'base64')).toString('utf8')) as { encrypt: string; mac: { k: string; r: string } };
  return { encrypt: Buffer.from(m.encrypt, 'base64'), mac: { k: Buffer.from(m.mac.k, 'base64'), r: Buffer.from(m.mac.r, 'base64') } };
}

/** A snapshot's JSON as restic stored it: plain JSON, or v2's version byte 2 and a zstd frame. */
export function readSnapshot(repo: string, key: ResticKey, id: string): Record<string, unknown> {
  const plain = open(key, readFileSync(join(repo, 'snapshots', id)));
  const json = plain[0] === 0x7b ? plain : plain[0] === 2 ? decompress(plain.subarray(1)) : undefined;
  if (json === undefined) throw new Error(`restic snapshot ${id}: unknown plaintext version ${plain[0]}`);
  return JSON.parse(json.toString('utf8')) as Record<string, unknown>;
}

/** Stores `snapshot` as restic does: sealed, named by the SHA-256 of the file. Returns the id. */
export function writeSnapshot(repo: string, key: ResticKey, snapshot: Record<string, unknown>): string {
  const file = seal(key, Buffer.from(JSON.stringify(snapshot)));
  const id = createHash('sha256').update(file).digest('hex');
  writeFileSync(join(repo, 'snapshots', id), file, { mode: 0o400 });
  return id;
}
