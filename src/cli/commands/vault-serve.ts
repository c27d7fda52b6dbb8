/**
 * `ebak vault serve`: boots the enclave application. What it may use comes
 * in this order, so nothing secret is ever read from the host's environment
 * in nitro mode:
 *   1. the attester (Nitro: the NSM; simulated: a dev CA kept in its own
 *      directory, standing in for the Nitro hypervisor's signing key);
 *   2. the key service client (AWS KMS, or the simulated key service: the
 *      same Recipient protocol), which releases the enclave's secrets to
 *      this attestation only;
 *   3. the HSM PIN: decrypted by the key service from --hsm-pin-kms (in
 *      nitro mode the only way; EBAK_HSM_PIN is refused there);
 *   4. the state store and the vault itself (server/boot.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDevCa, loadDevCa, saveDevCa, SimulatedNsm } from '../../attestation/index.js';
import { EbakError } from '../../errors.js';
import { Pkcs11Hsm, pkcs11ConfigFrom, type AuditEvent } from '../../hsm/index.js';
import { RecipientKms } from '../../kms/client.js';
import { vaultBundle } from '../../vault/measure.js';
import { NsmAttester } from '../../vault/nitro/nsm.js';
import { operatorPublicKey } from '../../vault/operator.js';
import { startVault, type Attester } from '../../vault/server/index.js';
import { openStore } from '../../vault/state/open.js';
import type { Context } from '../command.js';

export interface ServeFlags {
  dir?: string | undefined; state?: string | undefined; listen?: string | undefined; mode?: string | undefined;
  'guess-limit'?: string | undefined; lockout?: string | undefined; module?: string | undefined; token?: string | undefined;
  'pin-file'?: string | undefined; 'nsm-helper'?: string | undefined; devca?: string | undefined;
  'kms-endpoint'?: string | undefined; 'kms-key-id'?: string | undefined; 'kms-region'?: string | undefined; 'kms-ca'?: string | undefined;
  'hsm-pin-kms'?: string | undefined; registration?: string | undefined; 'operator-key'?: string | undefined; 'max-accounts'?: string | undefined;
}

export const HSM_PIN_CONTEXT = { 'ebak:purpose': 'hsm-pin', 'ebak:format': '1' } as const;

export const dirOf = (v: ServeFlags) => v.dir ?? 'ebak-vault';
export const stateOf = (v: ServeFlags) => v.state ?? join(dirOf(v), 'state.db');

export const devcaOf = (v: ServeFlags) => v.devca ?? 'ebak-devca';

/** The simulated hypervisor: a dev CA in its own directory (never the vault's), created on first use; its root.pem path. */
export async function ensureDevCa(dir: string, ctx: Context): Promise<string> {
  if (!existsSync(join(dir, 'root.pem'))) {
    await saveDevCa(createDevCa(), dir);
    ctx.out.warn(`created a development CA in ${dir} (it stands in for the Nitro hypervisor); clients and the key service pin ${join(dir, 'root.pem')}`);
  }
  return join(dir, 'root.pem');
}

async function simulatedAttester(dir: string, ctx: Context): Promise<Attester> {
  await ensureDevCa(dir, ctx);
  return new SimulatedNsm(await loadDevCa(dir), { bundle: vaultBundle() });
}

/** The enclave's key service client, from flags and the AWS credential variables (which are not secret from the host). */
export function keyServiceFrom(v: ServeFlags, ctx: Context, attester: Attester): RecipientKms {
  const keyId = v['kms-key-id'] ?? ctx.env.EBAK_KMS_KEY_ID;
  if (!keyId) throw new EbakError('USAGE', 'the vault needs a key service key: pass --kms-key-id (AWS KMS, or `ebak keyservice create-key` in simulation)');
  const endpoint = v['kms-endpoint'] ?? ctx.env.EBAK_KMS_ENDPOINT;
  const caFile = v['kms-ca'] ?? ctx.env.EBAK_KMS_CA;
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = ctx.env;
  return new RecipientKms({
    keyId, region: v['kms-region'] ?? ctx.env.AWS_REGION ?? 'us-east-1', attester,
    ...(endpoint ? { endpoint } : {}),
    ...(caFile ? { ca: readFileSync(caFile) } : {}),
    ...(accessKeyId && secretAccessKey ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } } : {}),
  });
}

async function hsmPin(v: ServeFlags, ctx: Context, mode: string, kms: RecipientKms): Promise<string | undefined> {
  const blobFile = v['hsm-pin-kms'] ?? ctx.env.EBAK_HSM_PIN_KMS;
  if (!blobFile) {
    if (mode === 'nitro') throw new EbakError('USAGE', 'in nitro mode the HSM PIN comes only from the key service: pass --hsm-pin-kms <file> (made by `ebak vault provision-pin`)', { hint: 'a PIN in the host environment lets the host use the HSM' });
    return undefined;
  }
  const pin = await kms.decrypt(await readFile(blobFile), { ...HSM_PIN_CONTEXT });
  try {
    return pin.toString('utf8');
  } finally {
    pin.fill(0);
  }
}

function policyFlags(v: ServeFlags) {
  const limit = v['guess-limit'] === undefined ? undefined : Number(v['guess-limit']);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) throw new EbakError('USAGE', '--guess-limit is 1..100');
  if (v.lockout !== undefined && v.lockout !== 'permanent' && v.lockout !== 'recovery') throw new EbakError('USAGE', '--lockout is permanent or recovery');
  if (v.registration !== undefined && v.registration !== 'open' && v.registration !== 'invite') throw new EbakError('USAGE', '--registration is open or invite');
  const max = v['max-accounts'] === undefined ? undefined : Number(v['max-accounts']);
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new EbakError('USAGE', '--max-accounts is a positive integer');
  return {
    policy: { ...(limit === undefined ? {} : { guess_limit: limit }), ...(v.lockout === undefined ? {} : { lockout: v.lockout as 'permanent' | 'recovery' }) },
    ...(v.registration ? { registration: v.registration as 'open' | 'invite' } : {}),
    ...(max === undefined ? {} : { maxAccounts: max }),
  };
}

export async function serve(v: ServeFlags, ctx: Context): Promise<void> {
  const mode = v.mode ?? 'simulated';
  if (mode !== 'simulated' && mode !== 'nitro') throw new EbakError('USAGE', '--mode is simulated or nitro');
  const [host, port] = (v.listen ?? '127.0.0.1:8443').split(/:(?=\d+$)/);
  if (!host || !port) throw new EbakError('USAGE', '--listen is <host>:<port>');
  if (mode === 'nitro' && v['pin-file']) throw new EbakError('USAGE', '--pin-file: in nitro mode the HSM PIN comes only from the key service (--hsm-pin-kms)');
  if (mode === 'nitro' && ctx.env.EBAK_HSM_PIN) throw new EbakError('USAGE', 'EBAK_HSM_PIN is set: in nitro mode the HSM PIN must not be in the host environment; provision it with `ebak vault provision-pin` and pass --hsm-pin-kms');
  const flags = policyFlags(v);
  const operatorKey = v['operator-key'] ? operatorPublicKey(await readFile(v['operator-key'], 'utf8')) : undefined;
  await mkdir(dirOf(v), { recursive: true, mode: 0o700 });
  const attester = mode === 'nitro' ? new NsmAttester(v['nsm-helper'] ?? '/usr/local/bin/nsm-attest') : await simulatedAttester(devcaOf(v), ctx);
  const keyService = keyServiceFrom(v, ctx, attester);
  const pin = await hsmPin(v, ctx, mode, keyService);
  // HSM lifecycle events join the vault's audit log once it exists.
  const early: AuditEvent[] = [];
  let sink: ((e: AuditEvent) => Promise<unknown>) | undefined;
  const hsm = await Pkcs11Hsm.open(pkcs11ConfigFrom({ module: v.module, token: v.token, pinFile: v['pin-file'] }, pin === undefined ? ctx.env : { ...ctx.env, EBAK_HSM_PIN: pin }), {
    audit: async (e) => void (sink ? await sink(e) : early.push(e)),
  });
  const store = await openStore(stateOf(v));
  const vault = await startVault({ hsm, store, attester, keyService, mode, host, port: Number(port), ...flags, ...(operatorKey ? { operatorKey } : {}), log: (l) => ctx.out.warn(l) });
  sink = (e) => vault.service.audit.append(`hsm.${e.type}`, null, { ring: e.ring ?? null, version: e.version ?? null, detail: e.detail ?? null });
  for (const e of early.splice(0)) await sink(e);
  ctx.out.line(`vault (${mode}) listening on ${vault.url}`);
  ctx.out.result({ url: vault.url, mode, state: stateOf(v), registration: vault.service.registration });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await vault.close();
  await store.close();
  await hsm.close();
  keyService.close();
}
