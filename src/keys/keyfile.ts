/**
 * Password and recovery keys: identities that open a key file under keys/
 * (Argon2id or HKDF, repository/format/keyfile.ts), and the recipients that
 * write one. Which envelope opens is found by trying each of the secret's
 * kind (repository/keyring.ts), which also tells a wrong secret from a
 * damaged key file.
 */
import { createKeyFile, type KeyKind } from '../repository/format/keyfile.js';
import { listKeys, unlock, vaultAccountOf, type Secret } from '../repository/keyring.js';
import { hostMeta, requireRepository } from '../repository/repository.js';
import type { Identity, Recipient } from './identity.js';

/**
 * An identity whose secret is asked for only when it is tried (a prompt
 * comes after a device session failed to open the repository, and before
 * the repository is looked for, as it always has).
 */
export function keyFileIdentity(secret: () => Promise<Secret>): Identity {
  return {
    async unwrap(backend) {
      const s = await secret();
      await requireRepository(backend);
      const u = await unlock(backend, s);
      const vaultAccount = s.recoveryCode === undefined ? undefined : vaultAccountOf(await listKeys(backend), u.keyId);
      return vaultAccount === undefined ? u : { ...u, vaultAccount };
    },
  };
}

export const passwordIdentity = (password: string): Identity => keyFileIdentity(async () => ({ password }));
export const recoveryIdentity = (recoveryCode: string): Identity => keyFileIdentity(async () => ({ recoveryCode }));

/** `vault`: the account a vault's repository names in its key files, read when the key file is written. */
function keyFileRecipient(kind: KeyKind, secret: string, vault?: { account: string }): Recipient {
  return { kind, wrap: (key) => createKeyFile(key, kind, secret, { ...hostMeta(), ...(vault ? { vault: { account: vault.account } } : {}) }) };
}

export const passwordRecipient = (password: string): Recipient => keyFileRecipient('password', password);
export const recoveryRecipient = (recoveryCode: string, vault?: { account: string }): Recipient => keyFileRecipient('recovery', recoveryCode, vault);
