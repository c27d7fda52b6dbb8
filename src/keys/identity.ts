/**
 * The two shapes of key custody (index.ts says what each stands for): an
 * `Identity` unwraps K, a `Recipient` is what a key is wrapped to. Apart
 * from index.ts so the modules that implement them (keyfile.ts, device.ts)
 * and the one that chooses among them (open.ts) import these, not the
 * folder's entry that re-exports them.
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
 * `vaultAccount`: a recovery key opened a repository a vault holds (its key
 * files name the account), so no head checks it.
 */
export type Unwrapped = { masterKey: Buffer; keyId?: string; head?: HeadClient; vaultAccount?: string } | { credential: WriteOnlyCredential; keyId?: string; head?: HeadClient };

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
