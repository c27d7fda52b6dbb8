/**
 * The vault flows composed with the repository: the vault client
 * (vault/client/device.ts) handles K and device sessions only; creating the
 * repository with K and checking that a released K opens it happen here.
 */
import { random } from '../crypto/index.js';
import { generateRecoveryCode } from '../repository/format/keyfile.js';
import { opensConfig } from '../repository/format/keyring.js';
import { Repository } from '../repository/repository.js';
import type { Backend } from '../storage/backend.js';
import { configAccount } from '../vault/client/devicefile.js';
import type { InitVaultOptions, LoginOptions, VaultInitResult, VaultLogin } from '../vault/client/device.js';
import { recoveryRecipient } from './keyfile.js';

/**
 * `ebak init --vault`: K made here and registered with the vault before
 * anything is written; the repository holds only a recovery key file,
 * which names the vault account (docs/format.md "Keys", `vault`).
 */
export async function initVaultRepository(backend: Backend, url: string, password: string, configDir: string, o: InitVaultOptions): Promise<VaultInitResult> {
  const { initWithVault } = await import('../vault/client/device.js'); // the vault client loads only for vault flows
  const masterKey = random(32);
  const recoveryCode = generateRecoveryCode();
  try {
    return await initWithVault(url, password, configDir, o, { masterKey, recoveryCode }, async (register) => {
      const vault = { account: '' };
      const beforeWrite = async (config: Buffer) => {
        vault.account = o.account ?? configAccount(config);
        await register(config);
      };
      const repo = await Repository.init(backend, [recoveryRecipient(recoveryCode, vault)], { masterKey, beforeWrite });
      return repo.config.id;
    });
  } finally {
    masterKey.fill(0);
  }
}

/** `ebak login`: the released K (or one its rotation links lead to) must open the repository's config before the device is saved. */
export async function loginVault(backend: Backend, url: string, password: string, configDir: string, o: LoginOptions): Promise<VaultLogin> {
  const { loginWithVault } = await import('../vault/client/device.js');
  const raw = await backend.load({ type: 'config', name: 'config' });
  return loginWithVault(backend, url, password, configDir, o, async (masterKey) => opensConfig(masterKey, raw));
}
