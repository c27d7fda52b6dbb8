/**
 * Key custody, age-style: one concept for who can open a repository's
 * master key K and what a key is wrapped to.
 *
 * - An `Identity` unwraps K from what it holds: a password or recovery key
 *   opens a key file under keys/ (keyfile.ts), a vault device session asks
 *   the vault for this machine's device key (device.ts).
 * - A `Recipient` is what a key is wrapped to: password and recovery key
 *   files. Write-only credentials seal their pack and object keys to the
 *   repository public key (key source 1, repository/writeonly/); a password
 *   or a write-only vault device (writeonly.ts) may open such a credential
 *   instead of K, and then only backups run.
 *
 * The byte formats stay with their layers (repository/format/keyfile.ts,
 * vault/envelope.ts). This folder decides which identity opens a repository
 * (open.ts) and composes the vault flows with the repository (vault.ts,
 * and head.ts for the repository head), so the vault client never sees a
 * Repository.
 */
import type { KeyFile, KeyKind } from '../repository/format/keyfile.js';
import type { Backend } from '../storage/backend.js';
import type { WriteOnlyCredential } from '../repository/writeonly/credential.js';
import type { HeadClient } from '../vault/client/head.js';

/**
 * K and the key file it came from (none for a device session; the caller
 * zeroes `masterKey`) and, for a vault device session, its repository head
 * (head.ts checks storage against it); or a write-only credential and its
 * key file (local mode) or its device session's repository head (vault mode).
 */
export type Unwrapped = { masterKey: Buffer; keyId?: string; head?: HeadClient } | { credential: WriteOnlyCredential; keyId?: string; head?: HeadClient };

export interface Identity {
  /**
   * K of the repository at `backend`; undefined when this identity holds
   * nothing for it (no device session here), so the next one is tried; an
   * EbakError when it should open it and cannot (a wrong password).
   */
  unwrap(backend: Backend): Promise<Unwrapped | undefined>;
}

/** Wraps a key into a stanza of its kind (a key file for password and recovery recipients). */
export interface Recipient<Kind extends string = KeyKind, Stanza = KeyFile> {
  readonly kind: Kind;
  wrap(key: Uint8Array): Promise<Stanza>;
}

export { keyFileIdentity, passwordIdentity, passwordRecipient, recoveryIdentity, recoveryRecipient } from './keyfile.js';
export { deviceIdentity } from './device.js';
export { identitiesFor, openBackupSession, openRepository, openSession, opensWriteOnly, type IdentityChoice, type OpenedRepository } from './open.js';
export { checkHead, type VaultHead } from './head.js';
export { initVaultRepository, loginVault } from './vault.js';
export { addWriteOnlyDevice, enrollWriteOnly } from './writeonly.js';
