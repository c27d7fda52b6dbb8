/**
 * Key envelopes (docs/format.md, "Keys"): the master key K wrapped under a
 * key-encryption key (KEK) derived from a secret the user holds. Plaintext
 * JSON (it must be readable before K is known); the wrapped K is
 * AES-256-GCM with the envelope's kind and KDF parameters as AAD, so they
 * cannot be altered without the unwrap failing. The file's name is the
 * SHA-256 of its bytes, which lets a reader tell corruption from a wrong secret.
 *
 * kinds: "password" (Argon2id: offline-guessable, the CLI says so) and
 * "recovery" (a 64-digit code, ~212 bits: HKDF is enough), both version 1
 * and wrapping K. Version 2 is kind "write-only" only (Argon2id, as
 * password): it wraps a write-only credential's bundle instead of K
 * (repository/writeonly/credential.ts), so whoever opens it can back up
 * and nothing else. Version 3 is version 1 with its `vault` field in the
 * AAD: a key file naming the vault that holds the repository cannot have
 * that name stripped or changed (which would hide that no head checks a
 * recovery-key session) without the unwrap failing.
 */
import { hashRaw } from '@node-rs/argon2';
import { deriveKey, open, random, seal } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';

export const KEYFILE_VERSION = 1;
/** Key files of write-only credentials. */
export const KEYFILE_VERSION_WRITE_ONLY = 2;
/** Key files that wrap K and name the vault account, authenticated. */
export const KEYFILE_VERSION_VAULT = 3;

/** Key files that wrap K. */
export type KeyKind = 'password' | 'recovery';
/** Every kind of key file: those that wrap K, and write-only credentials. */
export type EnvelopeKind = KeyKind | 'write-only';

export type Kdf =
  | { name: 'argon2id'; memory_kib: number; iterations: number; parallelism: number; salt: string }
  | { name: 'hkdf-sha256'; salt: string };

export interface KeyFile {
  version: number;
  kind: EnvelopeKind;
  created: string;
  hostname: string;
  username: string;
  /**
   * A repository a key vault holds: its vault account (written by `init
   * --vault` and a vault-mode rotation; in the AAD from version 3 on, not
   * authenticated in the version 1 files earlier builds wrote).
   * Names the account once a rotation changed the config, and tells a
   * recovery-key session that a vault holds the repository.
   */
  vault?: { account: string };
  kdf: Kdf;
  /** base64(nonce ‖ AES-256-GCM(KEK, K) ‖ tag) */
  data: string;
}

/** Argon2id at 64 MiB, 3 passes, 4 lanes: ~150 ms here; OWASP's floor is 19 MiB/2 passes. */
export const ARGON2_DEFAULTS = { memory_kib: 65536, iterations: 3, parallelism: 4 };

/**
 * The Argon2id cost of new password key files. A test suite that starts
 * the CLI a thousand times pays ~0.25 s of CPU per unlock at the defaults,
 * so under EBAK_TEST_FAST_KDF (set by the tests' harness, as restic's tests
 * lower their KDF) new key files get a token cost. Existing key files are
 * always opened with the cost they record.
 */
let newKeyCost = ARGON2_DEFAULTS;
const TEST_COST = { memory_kib: 64, iterations: 1, parallelism: 1 };

/** Tests only: from now on, new password key files get the token cost. */
export function useTestKdfCost(): void {
  newKeyCost = TEST_COST;
}

function aad(f: Pick<KeyFile, 'version' | 'kind' | 'kdf' | 'vault'>): Buffer {
  const bound = f.version === KEYFILE_VERSION_VAULT ? [f.version, f.kind, f.kdf, f.vault] : [f.version, f.kind, f.kdf];
  return Buffer.from(`ebak/v1/key\0${JSON.stringify(bound)}`);
}

async function kek(kdf: Kdf, secret: string): Promise<Buffer> {
  const salt = Buffer.from(kdf.salt, 'base64');
  if (kdf.name === 'hkdf-sha256') return deriveKey(Buffer.from(secret), 'recovery-key', salt);
  return hashRaw(secret, {
    algorithm: 2, // Argon2id
    memoryCost: kdf.memory_kib,
    timeCost: kdf.iterations,
    parallelism: kdf.parallelism,
    salt,
    outputLen: 32,
  });
}

/** The plaintext fields of a key file outside its AAD. */
export interface KeyMeta {
  hostname: string;
  username: string;
  vault?: { account: string };
}

export function createKeyFile(masterKey: Uint8Array, kind: KeyKind, secret: string, meta: KeyMeta): Promise<KeyFile> {
  return wrapInKeyFile(masterKey, kind, secret, meta);
}

/** A key file of `kind` wrapping `secretBytes` (K, or a write-only credential's bundle) under a KEK from `secret`. */
export async function wrapInKeyFile(secretBytes: Uint8Array, kind: EnvelopeKind, secret: string, meta: KeyMeta): Promise<KeyFile> {
  const salt = random(16).toString('base64');
  const kdf: Kdf = kind === 'recovery' ? { name: 'hkdf-sha256', salt } : { name: 'argon2id', ...newKeyCost, salt };
  const version = kind === 'write-only' ? KEYFILE_VERSION_WRITE_ONLY : meta.vault ? KEYFILE_VERSION_VAULT : KEYFILE_VERSION;
  const vault = meta.vault ? { vault: { account: meta.vault.account } } : {}; // exactly one field, as the AAD binds it
  const base = { version, kind, created: new Date().toISOString(), hostname: meta.hostname, username: meta.username, ...vault, kdf };
  const k = await kek(kdf, secret);
  try {
    return { ...base, data: seal(k, secretBytes, aad(base)).toString('base64') };
  } finally {
    k.fill(0);
  }
}

/** The kinds each known version holds; any other version, or a version 2 of another kind, is one this ebak does not know. */
const KINDS: Record<number, readonly EnvelopeKind[]> = {
  [KEYFILE_VERSION]: ['password', 'recovery'], [KEYFILE_VERSION_WRITE_ONLY]: ['write-only'], [KEYFILE_VERSION_VAULT]: ['password', 'recovery'],
};

/** Version 3's `vault`: exactly `{account}`, a non-empty string (what the AAD binds is what the session reads). */
const vaultOk = (f: KeyFile) =>
  f.version !== KEYFILE_VERSION_VAULT ||
  (typeof f.vault === 'object' && f.vault !== null && Object.keys(f.vault).join() === 'account' && typeof f.vault.account === 'string' && f.vault.account.length > 0);

export function parseKeyFile(bytes: Buffer, what: string): KeyFile {
  let f: KeyFile;
  try {
    f = JSON.parse(bytes.toString('utf8')) as KeyFile;
  } catch {
    throw new EbakError('CORRUPT', `${what}: not valid JSON`);
  }
  const kinds = KINDS[f?.version];
  if (!kinds || (f.version === KEYFILE_VERSION_WRITE_ONLY && !kinds.includes(f.kind)))
    throw new EbakError('UNSUPPORTED_VERSION', `${what}: key file version ${f?.version} is not supported`);
  const k = f.kdf;
  const kdfOk =
    typeof k?.salt === 'string' &&
    ((k.name === 'hkdf-sha256' && f.kind !== 'write-only') ||
      (k.name === 'argon2id' && [k.memory_kib, k.iterations, k.parallelism].every((v) => Number.isSafeInteger(v) && v > 0) &&
        // Bounded so a key file planted by the storage cannot make each unlock cost minutes.
        k.memory_kib <= 1024 * 1024 && k.iterations <= 16 && k.parallelism <= 16));
  if (!kinds.includes(f.kind) || !kdfOk || typeof f.data !== 'string' || !vaultOk(f))
    throw new EbakError('CORRUPT', `${what}: invalid key file fields`);
  return f;
}

/**
 * What the envelope wraps (K for version 1, a credential bundle for
 * version 2), or undefined when `secret` is not this envelope's secret.
 */
export async function unwrapKeyFile(f: KeyFile, secret: string, what: string): Promise<Buffer | undefined> {
  const k = await kek(f.kdf, secret);
  try {
    const mk = open(k, Buffer.from(f.data, 'base64'), aad(f), what);
    if (f.kind !== 'write-only' && mk.length !== 32) throw new EbakError('CORRUPT', `${what}: wrapped key has the wrong length`);
    return mk;
  } catch (e) {
    if (e instanceof EbakError && e.code === 'AUTH_FAILED') return undefined;
    throw e;
  } finally {
    k.fill(0);
  }
}

/** 64 uniformly random decimal digits (rejection sampling keeps them uniform). */
export function generateRecoveryCode(): string {
  let digits = '';
  while (digits.length < 64) for (const b of random(64)) if (b < 250 && digits.length < 64) digits += String(b % 10);
  return digits;
}

export function formatRecoveryCode(code: string): string {
  return code.match(/.{4}/g)!.join('-');
}

/** Accepts the code with any spaces or dashes; refuses anything but 64 digits. */
export function normalizeRecoveryCode(input: string): string {
  const digits = input.replace(/[\s-]/g, '');
  if (!/^[0-9]{64}$/.test(digits)) throw new EbakError('USAGE', 'a recovery key is 64 digits (spaces and dashes are ignored)');
  return digits;
}
