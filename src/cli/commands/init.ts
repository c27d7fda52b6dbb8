import { environment } from '../../config/index.js';
import { Repository } from '../../repository/repository.js';
import { formatRecoveryCode, generateRecoveryCode } from '../../repository/format/keyfile.js';
import { defineCommand, type Context } from '../command.js';
import { initVaultRepository, passwordRecipient, recoveryRecipient } from '../../keys/index.js';
import { backendFor, givenLocation } from '../session.js';
import { passwordFromEnv, prompt } from '../secrets.js';
import { EbakError } from '../../errors.js';
import type { RepoConfig } from '../../repository/format/config.js';
import { parseLocation } from '../../storage/location.js';
import { checkObjectLock, type ObjectLockMode } from '../../storage/s3/index.js';

export const OFFLINE_WARNING =
  'a password key can be guessed offline by anyone who obtains the repository files; the key vault (ebak init --vault) removes that weakness';

export const initCommand = defineCommand({
  name: 'init',
  usage: 'ebak init [<repository>] [--no-password] [--vault <url> [--account <name>] [--vault-invite <token>]] [--s3-object-lock-days N [--s3-object-lock-mode COMPLIANCE|GOVERNANCE]]',
  async run({ positionals, values, switches }, ctx) {
    const location = positionals[0] ?? givenLocation(ctx);
    if (!location) throw new EbakError('USAGE', 'no repository given', { hint: 'ebak init <location>, or set EBAK_REPOSITORY' });
    const objectLock = objectLockSetting(location, values['s3-object-lock-days'], values['s3-object-lock-mode']);
    if (values.vault !== undefined) return initVault(ctx, location, values.vault, values.account, values['vault-invite']);
    const password = switches['no-password'] ? undefined : await passwordFromEnv(ctx) ?? (await askPassword());
    const code = generateRecoveryCode();
    const recipients = [recoveryRecipient(code), ...(password ? [passwordRecipient(password)] : [])];
    const backend = await backendFor(ctx, location, objectLock ? { objectLock } : {});
    try {
      const repo = await Repository.init(backend, recipients, objectLock ? { objectLock } : {});
      ctx.out.line(`created ebak repository ${repo.config.id.slice(0, 10)} at ${backend.location}`);
      ctx.out.line('');
      ctx.out.line('Recovery key (shown only now; store it offline, it opens the repository on its own):');
      ctx.out.line(`  ${formatRecoveryCode(code)}`);
      if (password) ctx.out.warn(OFFLINE_WARNING);
      ctx.out.result({ id: repo.config.id, location: backend.location, recovery_key: formatRecoveryCode(code), password_key: Boolean(password) });
    } finally {
      await backend.close();
    }
    return 0;
  },
});

/** The repository's Object Lock retention (stored in its config), validated before anything is created. */
function objectLockSetting(location: string, days: string | undefined, mode: string | undefined): RepoConfig['object_lock'] {
  if (days === undefined) {
    if (mode !== undefined) throw new EbakError('USAGE', '--s3-object-lock-mode needs --s3-object-lock-days');
    return undefined;
  }
  if (parseLocation(location).kind !== 's3') throw new EbakError('USAGE', 'Object Lock needs an S3 repository (s3:…)');
  return checkObjectLock({ days: Number(days), ...(mode ? { mode: mode as ObjectLockMode } : {}) });
}

/** On a terminal, offer a password (empty: recovery key only). Elsewhere, none. */
async function askPassword(): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const a = await prompt('password for this repository (empty: recovery key only): ');
  if (!a) return undefined;
  if ((await prompt('repeat the password: ')) !== a) throw new EbakError('USAGE', 'the passwords differ; nothing was created');
  return a;
}

/** Vault mode: the password goes to the vault (OPAQUE), never into a repository key file. */
async function initVault(ctx: Context, location: string, url: string, account: string | undefined, invite: string | undefined): Promise<number> {
  const password = (await passwordFromEnv(ctx)) ?? (await askPassword());
  if (!password) throw new EbakError('USAGE', 'ebak init --vault needs a password', { hint: 'set EBAK_PASSWORD or EBAK_PASSWORD_FILE, or run on a terminal' });
  const backend = await backendFor(ctx, location);
  try {
    const { configDir, vaultTrust } = environment(ctx.env);
    const r = await initVaultRepository(backend, url, password, configDir, { ...vaultTrust, account, invite });
    ctx.out.line(`created ebak repository ${r.id.slice(0, 10)} at ${backend.location}, key held by the vault ${url} (account ${r.account})`);
    ctx.out.line('');
    ctx.out.line('Recovery key (shown only now; store it offline, it opens the repository on its own):');
    ctx.out.line(`  ${formatRecoveryCode(r.recoveryCode)}`);
    ctx.out.result({ id: r.id, location: backend.location, recovery_key: formatRecoveryCode(r.recoveryCode), vault: url, account: r.account, device_file: r.deviceFile });
  } finally {
    await backend.close();
  }
  return 0;
}
