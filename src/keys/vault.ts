/**
 * The vault flows composed with the repository: the vault client
 * (vault/client/device.ts) handles K and device sessions only; creating the
 * repository with K and checking that a released K opens it happen here.
 */
import { random } from '../crypto/index.js';
import { generateRecoveryCode } from '../repository/format/keyfile.js';
import { Repository } from '../repository/repository.js';
import type { Backend } from '../storage/backend.js';
import type { InitVaultOptions, LoginOptions, VaultInitResult, VaultLogin } from '../vault/client/device.js';
import { recoveryRecipient } from './keyfile.js';

/**
 * `ebak init --vault`: K made here and registered with the vault before
 * anything is written; the repository holds only a recovery key file.
 */
export async function initVaultRepository(backend: Backend, url: string, password: string, configDir: string, o: InitVaultOptions): Promise<VaultInitResult> {
  const { initWithVault } = await import('../vault/client/device.js'); // the vault client loads only for vault flows
  const masterKey = random(32);
  const recoveryCode = generateRecoveryCode();
  try {
    return await initWithVault(url, password, configDir, o, { masterKey, recoveryCode }, async (register) => {
      const repo = await Repository.init(backend, [recoveryRecipient(recoveryCode)], { masterKey, beforeWrite: register });
      return repo.config.id;
    });
  } finally {
    masterKey.fill(0);
  }
}

/** `ebak login`: the released K must open the repository (its config authenticates under K) before the device is saved. */
export async function loginVault(backend: Backend, url: string, password: string, configDir: string, o: LoginOptions): Promise<VaultLogin> {
  const { loginWithVault } = await import('../vault/client/device.js');
  return loginWithVault(backend, url, password, configDir, o, async (masterKey) => {
    await Repository.openWithMasterKey(backend, masterKey);
  });
}
