/**
 * `ebak login`: on a new machine, recover access to a vault-backed repository
 * with only its location and the password (OPAQUE; src/keys/vault.ts).
 */
import { environment, parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { loginVault } from '../../keys/index.js';
import type { Command } from '../command.js';
import { passwordFromEnv, prompt } from '../secrets.js';
import { backendFor } from '../session.js';
import { trustFlags } from './vault.js';

const USAGE = 'ebak login --vault <url> [--account <name>] [--device <name>] [--vault-root <pem>] [--measurements <file>] [--allow-debug]\n  [--vault-platform nitro,sev-snp] [--snp-chain <ASK+ARK pem>] [--snp-measurement <hex>] [--snp-min-tcb BL/TEE/SNP/UCODE]';

export const loginCommand: Command = {
  name: 'login',
  summary: 'log in to the key vault with the password (new machine), saving a device session',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, switches } = parseFlags('login', argv, ctx.env, { positionals: false });
    const url = values.vault;
    if (!url) throw new EbakError('USAGE', 'no vault given', { hint: USAGE });
    const password = (await passwordFromEnv(ctx)) ?? (process.stdin.isTTY ? await prompt('vault password: ') : undefined);
    if (!password) throw new EbakError('USAGE', 'no password given', { hint: 'set EBAK_PASSWORD or EBAK_PASSWORD_FILE' });
    const backend = await backendFor(ctx);
    try {
      const r = await loginVault(backend, url, password, environment(ctx.env).configDir, { account: values.account, device: values.device, ...trustFlags(values, switches) });
      ctx.out.line(`logged in to ${url} as ${r.account}; device ${r.session.device_id} (session until ${r.session.expires_at}) saved in ${r.deviceFile}`);
      ctx.out.result({ account: r.account, device_id: r.session.device_id, expires_at: r.session.expires_at, device_file: r.deviceFile });
    } finally {
      await backend.close();
    }
    return 0;
  },
};
