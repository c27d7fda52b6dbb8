/**
 * Which identity opens a repository, in the one order every command uses: a
 * recovery key given explicitly wins; otherwise this machine's vault device
 * session for the repository; otherwise the password (or recovery key) of
 * a key file. A password, or a write-only vault device, may open a
 * write-only credential instead of K: only `openBackupSession` accepts one.
 */
import { EbakError } from '../errors.js';
import { unlock, type Secret } from '../repository/keyring.js';
import { Repository } from '../repository/repository.js';
import { writeOnlyRefusal } from '../repository/writeonly/credential.js';
import { WriteOnlyRepository } from '../repository/writeonly/repository.js';
import type { Backend } from '../storage/backend.js';
import { ReadOnce } from '../storage/readonce.js';
import { findDevice, WRITE_ONLY_DEVICE_FORMAT } from '../vault/client/devicefile.js';
import type { HeadClient } from '../vault/client/head.js';
import type { Action } from '../vault/protocol.js';
import { deviceIdentity } from './device.js';
import type { Identity } from './identity.js';
import { keyFileIdentity } from './keyfile.js';

export interface IdentityChoice {
  /** A recovery key was given (flag or environment): it is used, not a device session. */
  recoveryKeyGiven: boolean;
  /** Where device files live (EBAK_CONFIG_DIR, HOME). */
  configDir: string;
  /** What the command will do, for the vault's policy. */
  action?: Action | undefined;
  /** The password or recovery key; asked for only when no device session opened the repository. */
  secret: () => Promise<Secret>;
}

export function identitiesFor(c: IdentityChoice): Identity[] {
  const keyFile = keyFileIdentity(c.secret);
  return c.recoveryKeyGiven ? [keyFile] : [deviceIdentity(c.configDir, c.action), keyFile];
}

export interface OpenedRepository<R = Repository> {
  repository: R;
  /** Present when a vault device session opened it: its repository head. */
  head?: HeadClient;
  /** A recovery key opened a repository this vault account holds: no head checks it. */
  vaultAccount?: string;
}

/** Opens the repository at `backend` with the first identity that unwraps its K. */
export async function openRepository(backend: Backend, identities: readonly Identity[]): Promise<Repository> {
  return (await openSession(backend, identities)).repository;
}

/**
 * As openRepository, keeping a device session's repository head (the CLI
 * checks storage against it). This is where every command but backup opens
 * a repository, so a write-only credential is refused here, once for all of
 * them (WRITE_ONLY).
 */
export async function openSession(backend: Backend, identities: readonly Identity[]): Promise<OpenedRepository> {
  const opened = await openBackupSession(backend, identities);
  if (opened.repository instanceof WriteOnlyRepository) throw writeOnlyRefusal();
  return opened as OpenedRepository;
}

/** As openSession, but a write-only credential opens too: as a repository that can only back up. */
export async function openBackupSession(backend: Backend, identities: readonly Identity[]): Promise<OpenedRepository<Repository | WriteOnlyRepository>> {
  const once = new ReadOnce(backend); // the identities and the open read the config and the key files: once each
  for (const identity of identities) {
    const u = await identity.unwrap(once);
    if (!u) continue;
    if ('credential' in u) {
      const repository = new WriteOnlyRepository(backend, u.credential);
      return u.head ? { repository, head: u.head } : { repository };
    }
    try {
      const repository = (await Repository.openWithMasterKey(once, u.masterKey, u.keyId)).withBackend(backend);
      return { repository, ...(u.head ? { head: u.head } : {}), ...(u.vaultAccount === undefined ? {} : { vaultAccount: u.vaultAccount }) };
    } finally {
      u.masterKey.fill(0);
    }
  }
  throw new EbakError('WRONG_KEY', 'nothing this machine holds opens the repository', { hint: 'set EBAK_PASSWORD, pass --recovery-key-file, or run `ebak login`' });
}

/**
 * Whether what this machine would open the repository with is a write-only
 * credential: its vault device session, else `password` (a recovery key never
 * opens one). `key list` reads no secret, but refuses a write-only one
 * (WRITE_ONLY) as every other key command does; a password that opens
 * nothing changes nothing (the listing needs none).
 */
export async function opensWriteOnly(backend: Backend, configDir: string, password: string | undefined): Promise<boolean> {
  const device = await findDevice(backend, configDir);
  if (device) return device.format === WRITE_ONLY_DEVICE_FORMAT;
  if (password === undefined) return false;
  const u = await unlock(backend, { password }).catch(() => undefined);
  if (u && 'masterKey' in u) u.masterKey.fill(0);
  return u !== undefined && 'credential' in u;
}
