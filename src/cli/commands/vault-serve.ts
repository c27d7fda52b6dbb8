/**
 * `ebak vault serve`: parses flags into the enclave application's typed
 * options (src/vault/enclave/app.ts boots it) and runs until SIGINT/SIGTERM.
 * The AWS credential variables are read here: they authenticate calls to the
 * key service and are no secret from the host (the key policy, not the
 * caller, decides what is released).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDevCa, createDevSnpChain, saveDevCa, saveDevSnpChain } from '../../attestation/index.js';
import { awsEnvironment, environment, type ParsedFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { pkcs11ConfigFrom } from '../../hsm/index.js';
import type { KmsClientOptions } from '../../kms/client.js';
import { bootEnclave, type EnclaveAppOptions } from '../../vault/enclave/app.js';
import { operatorPublicKey } from '../../vault/operator.js';
import type { Context } from '../command.js';
import { readDeleteCredentials } from './vault-deleters.js';

/** The flags vault serve reads (the schema's vault flags). */
export type ServeFlags = ParsedFlags<'vault'>['values'];

export const dirOf = (v: ServeFlags) => v.dir ?? 'ebak-vault';
export const stateOf = (v: ServeFlags) => v.state ?? join(dirOf(v), 'state.db');
export const devcaOf = (v: ServeFlags) => v.devca ?? 'ebak-devca';
export const snpDevchainOf = (v: ServeFlags) => v['snp-devchain'] ?? 'ebak-snp-devchain';

/** The simulated hypervisor: a dev CA in its own directory (never the vault's), created on first use; its root.pem path. */
export async function ensureDevCa(dir: string, ctx: Context): Promise<string> {
  if (!existsSync(join(dir, 'root.pem'))) {
    await saveDevCa(createDevCa(), dir);
    ctx.out.warn(`created a development CA in ${dir} (it stands in for the Nitro hypervisor); clients and the key service pin ${join(dir, 'root.pem')}`);
  }
  return join(dir, 'root.pem');
}

/** The simulated AMD key hierarchy: a dev ARK → ASK → VCEK in its own directory, created on first use; its chain.pem path (what clients pin). */
export async function ensureDevSnpChain(dir: string, ctx: Context): Promise<string> {
  if (!existsSync(join(dir, 'chain.pem'))) {
    await saveDevSnpChain(createDevSnpChain(), dir);
    ctx.out.warn(`created a development SEV-SNP chain in ${dir} (it stands in for AMD's ARK, ASK and the chip's VCEK); clients pin ${join(dir, 'chain.pem')} with --snp-chain`);
  }
  return join(dir, 'chain.pem');
}

/** The key service connection, from flags (filled from EBAK_KMS_* by src/config) and the AWS credential variables. */
export function kmsOptions(v: ServeFlags, ctx: Context): Omit<KmsClientOptions, 'attester'> {
  const keyId = v['kms-key-id'];
  if (!keyId) throw new EbakError('USAGE', 'the vault needs a key service key: pass --kms-key-id (AWS KMS, or `ebak keyservice create-key` in simulation)');
  const endpoint = v['kms-endpoint'];
  const caFile = v['kms-ca'];
  const aws = awsEnvironment(ctx.env);
  return {
    keyId, region: v['kms-region'] ?? aws.region ?? 'us-east-1',
    ...(endpoint ? { endpoint } : {}),
    ...(caFile ? { ca: readFileSync(caFile) } : {}),
    ...(aws.credentials ? { credentials: aws.credentials } : {}),
  };
}

/** The vault's policy flags (their values are checked by the schema, src/config/schema.ts). */
function policyFlags(v: ServeFlags) {
  const limit = v['guess-limit'] === undefined ? undefined : Number(v['guess-limit']);
  const max = v['max-accounts'] === undefined ? undefined : Number(v['max-accounts']);
  return {
    policy: { ...(limit === undefined ? {} : { guess_limit: limit }), ...(v.lockout === undefined ? {} : { lockout: v.lockout as 'permanent' | 'recovery' }) },
    ...(v.registration ? { registration: v.registration as 'open' | 'invite' } : {}),
    ...(max === undefined ? {} : { maxAccounts: max }),
  };
}

/** Rate limits the operator raised (per minute, burst the same); unset ones keep the vault's defaults (server/limits.ts). */
function rateFlags(v: ServeFlags) {
  const rate = (flag: string | undefined) => (flag === undefined ? undefined : { burst: Number(flag), perMinute: Number(flag) });
  const address = rate(v['rate-per-address']);
  const account = rate(v['rate-per-account']);
  const register = rate(v['rate-register']);
  return { ...(address ? { addressRate: address } : {}), ...(account ? { accountRate: account } : {}), ...(register ? { registerRate: register } : {}) };
}

/** `--proxy-protocol-from CIDR[,CIDR]` (checked by the schema): the proxies that send PROXY v2 headers. */
function proxyFlags(v: ServeFlags) {
  const from = v['proxy-protocol-from'];
  return from === undefined ? {} : { proxyFrom: from.split(',').map((c) => c.trim()) };
}

/** Module and token from flags/environment; the PIN only in simulated mode (nitro: from the key service). */
function hsmOptions(v: ServeFlags, ctx: Context, mode: 'simulated' | 'nitro') {
  const { hsmPin } = environment(ctx.env);
  if (mode === 'nitro' && (v['pin-file'] || hsmPin)) {
    throw new EbakError('USAGE', 'in nitro mode the HSM PIN must not be on the host (--pin-file or EBAK_HSM_PIN): provision it with `ebak vault provision-pin` and pass --hsm-pin-kms');
  }
  const blobFile = v['hsm-pin-kms'];
  const pinBlob = blobFile ? readFileSync(blobFile) : undefined;
  const fromKms = pinBlob !== undefined || mode === 'nitro';
  // When the key service provides the PIN, none is read from the host ('-' only satisfies the reader of module and token).
  const { module, token, pin } = pkcs11ConfigFrom(fromKms ? { module: v.module, token: v.token, pin: '-' } : { module: v.module, token: v.token, pinFile: v['pin-file'], pin: hsmPin });
  return { module, token, ...(pinBlob ? { pinBlob } : fromKms ? {} : { pin }) };
}

/**
 * The delete credentials (docs/retention.md), read by the enclave at boot: a
 * plaintext file is simulated mode only (in nitro mode the host must not
 * see them); a sealed one is opened with the enclave's attestation.
 */
function deleteCredentials(v: ServeFlags, mode: 'simulated' | 'nitro'): EnclaveAppOptions['deleters'] {
  const file = v['delete-credentials'];
  const sealed = v['delete-credentials-kms'];
  if (file && sealed) throw new EbakError('USAGE', 'give --delete-credentials or --delete-credentials-kms, not both');
  if (file && mode === 'nitro') throw new EbakError('USAGE', 'in nitro mode the delete credentials must not be on the host in plaintext (--delete-credentials): seal them to the enclave with `ebak vault provision-delete-credentials` and pass --delete-credentials-kms');
  if (sealed) return (unseal) => readDeleteCredentials(sealed, (blob) => unseal('vault-delete-credentials', blob, `--delete-credentials-kms ${sealed}`));
  return file ? () => readDeleteCredentials(file) : undefined;
}

export async function serve(v: ServeFlags, ctx: Context): Promise<void> {
  const mode = (v.mode ?? 'simulated') as 'simulated' | 'nitro'; // checked by the schema
  const platform = (v.platform ?? 'nitro') as 'nitro' | 'sev-snp';
  if (platform === 'sev-snp' && mode === 'nitro') throw new EbakError('USAGE', 'a real SEV-SNP guest reads /dev/sev-guest, which is not built: --platform sev-snp runs with --mode simulated only');
  const [host, port] = (v.listen ?? '127.0.0.1:8443').split(/:(?=\d+$)/);
  if (!host || !port) throw new EbakError('USAGE', '--listen is <host>:<port>');
  const operatorKey = v['operator-key'] ? operatorPublicKey(await readFile(v['operator-key'], 'utf8')) : undefined;
  if (!operatorKey && v.registration !== 'open') ctx.out.warn('registration is by invitation and no --operator-key was given: nobody can register (pass --operator-key, or --registration open)');
  const deleters = deleteCredentials(v, mode);
  await mkdir(dirOf(v), { recursive: true, mode: 0o700 });
  if (mode === 'simulated') await ensureDevCa(devcaOf(v), ctx);
  if (platform === 'sev-snp') await ensureDevSnpChain(snpDevchainOf(v), ctx);
  const app = await bootEnclave({
    mode, platform, host, port: Number(port), state: stateOf(v), ...policyFlags(v), ...(v['opaque-threads'] === undefined ? {} : { opaqueThreads: Number(v['opaque-threads']) }), ...rateFlags(v), ...proxyFlags(v), ...(operatorKey ? { operatorKey } : {}),
    attestation: mode === 'nitro' ? { nsmHelper: v['nsm-helper'] ?? '/usr/local/bin/nsm-attest' } : { devca: devcaOf(v), snpDevchain: snpDevchainOf(v) },
    kms: kmsOptions(v, ctx), hsm: hsmOptions(v, ctx, mode), log: (l) => ctx.out.warn(l), ...(deleters ? { deleters } : {}),
  });
  ctx.out.line(`vault (${mode}${platform === 'nitro' ? '' : `, ${platform}`}) listening on ${app.vault.url}`);
  ctx.out.result({ url: app.vault.url, mode, platform, state: stateOf(v), registration: app.vault.service.registration });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await app.close();
}
