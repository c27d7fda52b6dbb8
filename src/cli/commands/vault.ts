/**
 * `ebak vault serve|measure|status|unlock|audit verify`, `ebak device
 * list|revoke` and `ebak audit`: thin layers over src/vault.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDevCa, loadDevCa, loadRoot, saveDevCa, SimulatedNsm } from '../../attestation/index.js';
import { EbakError } from '../../errors.js';
import { Pkcs11Hsm, pkcs11ConfigFrom, type AuditEvent } from '../../hsm/index.js';
import { normalizeRecoveryCode } from '../../repository/format/keyfile.js';
import { HEAD_ID, type AuditHead } from '../../vault/audit/log.js';
import { verifyAuditLog } from '../../vault/audit/verify.js';
import { deviceClient, loadDevice, repositoryAccount, trustFrom, type DeviceFile } from '../../vault/client/device.js';
import { VaultClient } from '../../vault/client/client.js';
import { pcrsFromMeasurements, vaultBundle, vaultMeasurements } from '../../vault/measure.js';
import { NsmAttester } from '../../vault/nitro/nsm.js';
import { startVault, type Attester } from '../../vault/server/index.js';
import { TokenCounters } from '../../vault/state/monotonic.js';
import { SealedState } from '../../vault/state/sealed.js';
import { openStore } from '../../vault/state/store.js';
import type { Command, Context } from '../command.js';
import { backendFor } from '../session.js';

const USAGE = [
  'ebak vault serve [--dir <dir>] [--state <file|postgres://…>] [--listen <host:port>] [--mode simulated|nitro] [--guess-limit <n>] [--lockout permanent|recovery]',
  'ebak vault measure',
  'ebak vault status [--vault <url>]',
  'ebak vault unlock --vault <url> --account <name> --recovery-key-file <file>',
  'ebak vault audit verify [--dir <dir>] [--state <…>] [--root <pem>] [--measurements <file>]',
  '  HSM (serve, audit verify): --module/EBAK_HSM_MODULE --token/EBAK_HSM_TOKEN --pin-file/EBAK_HSM_PIN',
  '  client trust: --vault-root/EBAK_VAULT_ROOT --measurements/EBAK_VAULT_MEASUREMENTS --allow-debug',
].join('\n');

const OPTIONS = {
  dir: { type: 'string' }, state: { type: 'string' }, listen: { type: 'string' }, mode: { type: 'string' },
  'guess-limit': { type: 'string' }, lockout: { type: 'string' }, module: { type: 'string' }, token: { type: 'string' },
  'pin-file': { type: 'string' }, vault: { type: 'string' }, account: { type: 'string' }, 'recovery-key-file': { type: 'string' },
  root: { type: 'string' }, 'vault-root': { type: 'string' }, measurements: { type: 'string' }, 'allow-debug': { type: 'boolean' },
  'nsm-helper': { type: 'string' },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[], usage: string) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (e) {
    throw new EbakError('USAGE', (e as Error).message.split('\n')[0]!, { hint: usage });
  }
}

const dirOf = (v: Values) => v.dir ?? 'ebak-vault';
const stateOf = (v: Values) => v.state ?? join(dirOf(v), 'state.db');

async function simulatedAttester(dir: string, ctx: Context): Promise<Attester> {
  const caDir = join(dir, 'devca');
  if (!existsSync(join(caDir, 'root.pem'))) {
    await saveDevCa(createDevCa(), caDir);
    ctx.out.warn(`created a development CA in ${caDir}; clients pin ${join(caDir, 'root.pem')} (EBAK_VAULT_ROOT)`);
  }
  return new SimulatedNsm(await loadDevCa(caDir), { bundle: vaultBundle() });
}

async function serve(v: Values, ctx: Context): Promise<unknown> {
  const mode = v.mode ?? 'simulated';
  if (mode !== 'simulated' && mode !== 'nitro') throw new EbakError('USAGE', '--mode is simulated or nitro');
  const [host, port] = (v.listen ?? '127.0.0.1:8443').split(/:(?=\d+$)/);
  if (!host || !port) throw new EbakError('USAGE', '--listen is <host>:<port>');
  const limit = v['guess-limit'] === undefined ? undefined : Number(v['guess-limit']);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) throw new EbakError('USAGE', '--guess-limit is 1..100');
  if (v.lockout !== undefined && v.lockout !== 'permanent' && v.lockout !== 'recovery') throw new EbakError('USAGE', '--lockout is permanent or recovery');
  await mkdir(dirOf(v), { recursive: true, mode: 0o700 });
  const attester = mode === 'nitro' ? new NsmAttester(v['nsm-helper'] ?? '/usr/local/bin/nsm-attest') : await simulatedAttester(dirOf(v), ctx);
  // HSM lifecycle events join the vault's audit log once it exists.
  const early: AuditEvent[] = [];
  let sink: ((e: AuditEvent) => Promise<unknown>) | undefined;
  const hsm = await Pkcs11Hsm.open(pkcs11ConfigFrom({ module: v.module, token: v.token, pinFile: v['pin-file'] }, ctx.env), {
    audit: async (e) => void (sink ? await sink(e) : early.push(e)),
  });
  const store = await openStore(stateOf(v));
  const vault = await startVault({
    hsm, store, attester, mode, host, port: Number(port),
    policy: { ...(limit === undefined ? {} : { guess_limit: limit }), ...(v.lockout === undefined ? {} : { lockout: v.lockout as 'permanent' | 'recovery' }) },
    log: (l) => ctx.out.warn(l),
  });
  sink = (e) => vault.service.audit.append(`hsm.${e.type}`, null, { ring: e.ring ?? null, version: e.version ?? null, detail: e.detail ?? null });
  for (const e of early.splice(0)) await sink(e);
  ctx.out.line(`vault (${mode}) listening on ${vault.url}`);
  ctx.out.result({ url: vault.url, mode, state: stateOf(v) });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await vault.close();
  await store.close();
  await hsm.close();
  return undefined;
}

async function auditVerify(v: Values, ctx: Context): Promise<unknown> {
  const rootFile = v.root ?? v['vault-root'] ?? ctx.env.EBAK_VAULT_ROOT ?? join(dirOf(v), 'devca', 'root.pem');
  const root = loadRoot(await readFile(rootFile).catch((e) => { throw new EbakError('USAGE', `cannot read the root ${rootFile}`, { cause: e }); }));
  const pcrs = v.measurements ? pcrsFromMeasurements(await readFile(v.measurements, 'utf8'), v.measurements) : undefined;
  const store = await openStore(stateOf(v));
  try {
    let head: AuditHead | undefined;
    if (v.token ?? ctx.env.EBAK_HSM_TOKEN) {
      const hsm = await Pkcs11Hsm.open(pkcs11ConfigFrom({ module: v.module, token: v.token, pinFile: v['pin-file'] }, ctx.env));
      try {
        head = (await new SealedState(store, hsm, new TokenCounters(hsm.token)).read<AuditHead>(HEAD_ID))?.value;
      } finally {
        await hsm.close();
      }
    } else ctx.out.warn('no HSM token given: the chain and signatures are checked, but entries removed from the end cannot be detected');
    const report = verifyAuditLog(await store.audit(1), { root, ...(pcrs ? { pcrs } : {}), ...(head ? { head } : {}) });
    ctx.out.line(`audit log OK: ${report.entries} entries, ${report.boots} attested boots, head ${report.head.seq} ${report.head.hash}${head ? ' (matches the sealed head)' : ''}`);
    return report;
  } finally {
    await store.close();
  }
}

async function currentDevice(ctx: Context): Promise<DeviceFile> {
  const backend = await backendFor(ctx);
  try {
    const account = await repositoryAccount(backend).catch((e) => { throw new EbakError('NO_REPOSITORY', `no ebak repository at ${backend.location}`, { cause: e }); });
    const d = await loadDevice(ctx.env, account);
    if (!d) throw new EbakError('USAGE', `this machine has no vault session for ${backend.location}`, { hint: 'run `ebak login`' });
    return d;
  } finally {
    await backend.close();
  }
}

const VAULT_SUB: Record<string, (v: Values, ctx: Context, rest: string[]) => Promise<unknown>> = {
  serve,
  measure: async (_v, ctx) => {
    const m = vaultMeasurements();
    ctx.out.line(JSON.stringify({ Measurements: m }, null, 2));
    return { Measurements: m };
  },
  status: async (v, ctx) => {
    const client = v.vault
      ? await VaultClient.connect(v.vault, trustFrom({ root: v['vault-root'], measurements: v.measurements, allowDebug: v['allow-debug'] }, ctx.env).trust)
      : (await deviceClient(await currentDevice(ctx))).client;
    const s = await client.status();
    ctx.out.line(`vault ${client.url}: ${s.mode}, attested (module ${s.module_id}), ${s.accounts} accounts, audit entry ${s.audit_seq}`);
    return { url: client.url, ...s };
  },
  unlock: async (v, ctx) => {
    if (!v.vault || !v.account || !v['recovery-key-file']) throw new EbakError('USAGE', 'unlock needs --vault, --account and --recovery-key-file', { hint: USAGE });
    const digits = normalizeRecoveryCode((await readFile(v['recovery-key-file'], 'utf8')).split('\n')[0]!);
    const client = await VaultClient.connect(v.vault, trustFrom({ root: v['vault-root'], measurements: v.measurements, allowDebug: v['allow-debug'] }, ctx.env).trust);
    await client.unlock(v.account, digits);
    ctx.out.line(`account ${v.account} unlocked`);
    return { account: v.account, unlocked: true };
  },
  audit: async (v, ctx, rest) => {
    if (rest[0] !== 'verify') throw new EbakError('USAGE', 'usage: ebak vault audit verify', { hint: USAGE });
    return auditVerify(v, ctx);
  },
};

export const vaultCommand: Command = {
  name: 'vault',
  summary: 'run the key vault, print its measurements, check its status and audit log',
  usage: USAGE,
  async run(argv, ctx) {
    const { values, positionals } = parse(argv, USAGE);
    const [sub, ...rest] = positionals;
    const fn = sub === undefined ? undefined : VAULT_SUB[sub];
    if (!fn) throw new EbakError('USAGE', `unknown vault subcommand ${sub === undefined ? '(none)' : JSON.stringify(sub)}`, { hint: USAGE });
    const result = await fn(values, ctx, rest);
    if (sub !== 'serve') ctx.out.result(result);
    return 0;
  },
};

const DEVICE_USAGE = 'ebak device list | ebak device revoke <device id>';

export const deviceCommand: Command = {
  name: 'device',
  summary: "list or revoke this repository's vault devices",
  usage: DEVICE_USAGE,
  async run(argv, ctx) {
    const { positionals } = parse(argv, DEVICE_USAGE);
    const [sub, id] = positionals;
    const d = await currentDevice(ctx);
    const { client } = await deviceClient(d);
    if (sub === 'list') {
      const devices = await client.devices(d.token);
      for (const x of devices) ctx.out.line(`${x.id}  ${x.name.padEnd(20)} ${x.revoked_at ? `revoked ${x.revoked_at}` : `expires ${x.expires_at}`}${x.current ? '  (this device)' : ''}`);
      ctx.out.result({ devices });
    } else if (sub === 'revoke' && id) {
      const device = await client.revoke(d.token, id);
      ctx.out.line(`revoked ${device.id} (${device.name})`);
      ctx.out.result({ device });
    } else throw new EbakError('USAGE', `usage: ${DEVICE_USAGE}`);
    return 0;
  },
};

export const auditCommand: Command = {
  name: 'audit',
  summary: "show the vault's audit events for this repository's account",
  usage: 'ebak audit',
  async run(argv, ctx) {
    parse(argv, 'ebak audit');
    const d = await currentDevice(ctx);
    const { client } = await deviceClient(d);
    const entries = (await client.audit(d.token)) as { seq: number; time: string; type: string; detail: unknown }[];
    for (const e of entries) ctx.out.line(`${String(e.seq).padStart(6)} ${e.time} ${e.type.padEnd(14)} ${e.detail ? JSON.stringify(e.detail) : ''}`);
    ctx.out.result({ entries });
    return 0;
  },
};
