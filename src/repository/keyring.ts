/**
 * The key envelopes under keys/: plaintext JSON named by the SHA-256 of
 * their bytes (docs/format.md, "Key files"). Listing needs no secret, so a
 * damaged envelope is told apart from a wrong password before any
 * decryption; unlocking tries every envelope of the secret's kind and
 * remembers which one opened, so that one is never removed by its own session.
 * A password opens password key files (K) and write-only key files (a
 * write-only credential, repository/writeonly/credential.ts); a recovery key
 * opens recovery key files only. After a master-key rotation a key file may
 * still wrap a retired key (one an interrupted rotation had not removed yet,
 * or an old copy put back): a K that opens the config is preferred, so the
 * secret opens the current key whatever order files list in; with none, the
 * first K found is returned (the config then says why it does not open).
 */
import { sha256 } from '../crypto/index.js';
import { EbakError, isEbakError } from '../errors.js';
import type { Backend } from '../storage/backend.js';
import { KEYFILE_VERSION_VAULT, parseKeyFile, unwrapKeyFile, type EnvelopeKind, type KeyFile } from './format/keyfile.js';
import { openConfig } from './format/keyring.js';
import { decodeCredential, type WriteOnlyCredential } from './writeonly/credential.js';

export interface Secret {
  password?: string;
  recoveryCode?: string;
}

/** Wraps K into a key file (src/keys: password and recovery recipients). */
export interface KeyFileRecipient {
  wrap(masterKey: Uint8Array): Promise<KeyFile>;
}

export interface KeyListing {
  id: string;
  file?: KeyFile;
  damaged?: string;
}

export async function saveKeyFile(backend: Backend, f: KeyFile): Promise<string> {
  const bytes = Buffer.from(JSON.stringify(f, null, 2));
  const name = sha256(bytes).toString('hex');
  await backend.save({ type: 'keys', name }, bytes, { sha256: name });
  return name;
}

/** Every key envelope, with the damaged ones named (name ≠ SHA-256, bad JSON). */
export async function listKeys(backend: Backend): Promise<KeyListing[]> {
  const out: KeyListing[] = [];
  for await (const f of backend.list('keys')) {
    const bytes = await backend.load({ type: 'keys', name: f.name });
    if (sha256(bytes).toString('hex') !== f.name) {
      out.push({ id: f.name, damaged: 'content does not match its name' });
      continue;
    }
    try {
      out.push({ id: f.name, file: parseKeyFile(bytes, `keys/${f.name}`) });
    } catch (e) {
      if (!isEbakError(e)) throw e;
      out.push({ id: f.name, damaged: e.message });
    }
  }
  return out;
}

/** What a secret opened: K, or a write-only credential; and the envelope it came from. */
export type Unlocked = { masterKey: Buffer; keyId: string } | { credential: WriteOnlyCredential; keyId: string };

/** The envelope kinds each secret may open, tried in this order. */
const KINDS_FOR: Record<'password' | 'recovery', readonly EnvelopeKind[]> = { password: ['password', 'write-only'], recovery: ['recovery'] };

/** The master key (or a write-only credential) and the envelope that opened it; tells a wrong secret from a damaged key file. */
export async function unlock(backend: Backend, secret: Secret): Promise<Unlocked> {
  const kind = secret.recoveryCode !== undefined ? 'recovery' : 'password';
  const value = secret.recoveryCode ?? secret.password;
  if (value === undefined) throw new EbakError('USAGE', 'no password or recovery key given', { hint: 'set EBAK_PASSWORD / EBAK_PASSWORD_FILE or pass --recovery-key-file' });
  const keys = await listKeys(backend);
  const current = currentKeyTest(backend);
  let first: { masterKey: Buffer; keyId: string } | undefined;
  for (const envelope of KINDS_FOR[kind]) {
    for (const k of keys) {
      if (k.file?.kind !== envelope) continue;
      const what = `keys/${k.id}`;
      const opened = await unwrapKeyFile(k.file, value, what);
      if (opened && envelope === 'write-only') return { credential: decodeCredential(opened, what), keyId: k.id };
      if (opened && (await current(opened))) {
        first?.masterKey.fill(0);
        return { masterKey: opened, keyId: k.id };
      }
      if (opened && !first) first = { masterKey: opened, keyId: k.id };
      else opened?.fill(0);
    }
  }
  if (first) return first;
  const damaged = keys.filter((k) => k.damaged);
  if (damaged.length > 0)
    throw new EbakError('AUTH_FAILED', `no key opened the repository, and keys/${damaged[0]!.id} is damaged (${damaged[0]!.damaged})`, { hint: 'try your recovery key; run `ebak check`' });
  throw new EbakError('WRONG_KEY', kind === 'password' ? 'wrong password (no key in the repository opens with it)' : 'wrong recovery key (no key in the repository opens with it)', {
    hint: kind === 'password'
      ? 'check EBAK_PASSWORD / --password-file; the recovery key opens it too (--recovery-key-file); a repository kept in a key vault opens after `ebak login`'
      : 'check the 64 digits; `ebak key list` shows which keys the repository has',
  });
}

/** Whether a master key opens the config (once rotated, only the current key does; any failure is a no here); the config is read once. */
function currentKeyTest(backend: Backend): (masterKey: Buffer) => Promise<boolean> {
  let raw: Promise<Buffer> | undefined;
  return async (masterKey) => {
    try {
      openConfig(masterKey, await (raw ??= backend.load({ type: 'config', name: 'config' })));
      return true;
    } catch {
      return false;
    }
  };
}

/**
 * The one envelope `prefix` names, if removing it is safe: not the envelope
 * this session opened the repository with (`inUse`), and not the last intact one
 * that opens K.
 */
export function keyToRemove(keys: readonly KeyListing[], prefix: string, inUse: string | undefined): string {
  const matches = keys.filter((k) => k.id.startsWith(prefix));
  if (matches.length !== 1) throw new EbakError(matches.length ? 'USAGE' : 'NOT_FOUND', `key ${prefix}: ${matches.length ? 'ambiguous' : 'no such key'}`);
  const id = matches[0]!.id;
  if (id === inUse)
    throw new EbakError('USAGE', `refusing to remove key ${id.slice(0, 8)}: this command opened the repository with it`, {
      hint: 'open the repository with another key (another password or --recovery-key-file) to remove this one',
    });
  // A write-only key file does not open K: it does not count as a key the repository stays readable with.
  if (keys.filter((k) => k.file && k.file.kind !== 'write-only' && k.id !== id).length === 0)
    throw new EbakError('USAGE', 'refusing to remove the last intact key: the repository would be unreadable');
  return id;
}

/**
 * The vault account a repository's key files name (docs/format.md "Keys",
 * `vault`), if any names one: the `opened` key file's when it is version 3
 * (its unwrap authenticated the name), else the first any file names (the
 * unauthenticated version 1 files of earlier builds: a claim is still
 * heeded, since it only adds a warning or a refusal).
 */
export function vaultAccountOf(keys: readonly KeyListing[], opened?: string): string | undefined {
  const own = keys.find((k) => k.id === opened && k.file?.version === KEYFILE_VERSION_VAULT);
  return (own ?? keys.find((k) => typeof k.file?.vault?.account === 'string'))?.file?.vault?.account;
}
