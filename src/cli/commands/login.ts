/**
 * `ebak login`: on a new machine, recover access to a vault-backed repository
 * with only its location and the password (OPAQUE; src/keys/vault.ts); or,
 * with `--enroll`, enroll this host as the write-only device a full device
 * added (`ebak device add --write-only`; src/keys/writeonly.ts): no password.
 */
import { environment, type ParsedFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { enrollWriteOnly, loginVault } from '../../keys/index.js';
import { defineCommand, type Context } from '../command.js';
import { firstLine, passwordFromEnv, prompt } from '../secrets.js';
import { backendFor } from '../session.js';
import { trustFlags } from './vault.js';

const USAGE = [
  'ebak login --vault <url> [--account <name>] [--device <name>] [--vault-root <pem>] [--measurements <file>] [--allow-debug]',
  'ebak login --enroll <code> | --enroll-file <file> [--vault-root <pem>] [--measurements <file>] [--allow-debug]',
  '  (a write-only device: the one-time code `ebak device add --write-only` printed on a full device; no password)',
  '  either form: [--vault-platform nitro,sev-snp] [--snp-chain <ASK+ARK pem>] [--snp-measurement <hex>] [--snp-min-tcb BL/TEE/SNP/UCODE]',
].join('\n');

type Flags = ParsedFlags<'login'>;

const trust = ({ values, switches }: Flags) => trustFlags(values, switches);

export const loginCommand = defineCommand({
  name: 'login',
  usage: USAGE,
  positionals: false,
  async run(flags, ctx) {
    const code = await enrollmentCode(flags);
    return code === undefined ? login(flags, ctx) : enroll(code, flags, ctx);
  },
});

async function enrollmentCode({ values }: Flags): Promise<string | undefined> {
  if (values.enroll !== undefined && values['enroll-file'] !== undefined) throw new EbakError('USAGE', '--enroll and --enroll-file are mutually exclusive');
  return values['enroll-file'] !== undefined ? (await firstLine(values['enroll-file'])).trim() : values.enroll;
}

async function login(flags: Flags, ctx: Context): Promise<number> {
  const { values } = flags;
  const url = values.vault;
  if (!url) throw new EbakError('USAGE', 'no vault given', { hint: USAGE });
  const password = (await passwordFromEnv(ctx)) ?? (process.stdin.isTTY ? await prompt('vault password: ') : undefined);
  if (!password) throw new EbakError('USAGE', 'no password given', { hint: 'set EBAK_PASSWORD or EBAK_PASSWORD_FILE' });
  const backend = await backendFor(ctx);
  try {
    const r = await loginVault(backend, url, password, environment(ctx.env).configDir, { account: values.account, device: values.device, ...trust(flags) });
    ctx.out.line(`logged in to ${url} as ${r.account}; device ${r.session.device_id} (session until ${r.session.expires_at}) saved in ${r.deviceFile}`);
    ctx.out.result({ account: r.account, device_id: r.session.device_id, expires_at: r.session.expires_at, device_file: r.deviceFile });
  } finally {
    await backend.close();
  }
  return 0;
}

async function enroll(code: string, flags: Flags, ctx: Context): Promise<number> {
  const backend = await backendFor(ctx);
  try {
    const r = await enrollWriteOnly(backend, code, environment(ctx.env).configDir, trust(flags));
    ctx.out.line(`enrolled as write-only device ${r.deviceId} of ${r.account} (session until ${r.expiresAt}; it can run \`backup\` and nothing else), saved in ${r.deviceFile}`);
    ctx.out.result({ account: r.account, device_id: r.deviceId, kind: 'write-only', expires_at: r.expiresAt, device_file: r.deviceFile });
  } finally {
    await backend.close();
  }
  return 0;
}
