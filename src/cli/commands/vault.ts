/**
 * `ebak vault serve|measure|status|unlock|invite|operator-key|provision-pin|provision-delete-credentials|audit verify`,
 * `ebak device list|add --write-only|revoke` and `ebak audit`: thin layers over src/vault
 * (and src/keys for adding a write-only device, which needs the repository's K).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { loadRoot } from '../../attestation/index.js';
import { environment, type ParsedFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { normalizeRecoveryCode } from '../../repository/format/keyfile.js';
import { verifyAuditLog } from '../../vault/audit/verify.js';
import { deviceClient, loadDevice, repositoryAccount, trustFrom, type DeviceFile, type TrustFlags } from '../../vault/client/device.js';
import { DEVICE_FORMAT } from '../../vault/client/devicefile.js';
import { addWriteOnlyDevice } from '../../keys/index.js';
import { writeOnlyRefusal } from '../../repository/writeonly/credential.js';
import { CLI_PATIENCE, VaultClient } from '../../vault/client/client.js';
import type { DeviceInfo, DrillRecordRequest } from '../../vault/protocol.js';
import { pcrsFromMeasurements, vaultKeyPolicy, vaultMeasurements, vaultSnpMeasurement } from '../../vault/measure.js';
import { createInvitation, operatorPrivateKey } from '../../vault/operator.js';
import { openStore } from '../../vault/state/open.js';
import { defineCommand, type Context } from '../command.js';
import { formatBytes } from '../format.js';
import { stepUpPassword } from '../secrets.js';
import { backendFor, withRepo } from '../session.js';
import { RecipientKms } from '../../kms/client.js';
import { sealSecret, type SecretPurpose } from '../../vault/enclave/secrets.js';
import { replaceFile } from '../../util/fs.js';
import { parseDeleteCredentials } from './vault-deleters.js';
import { devcaOf, ensureDevCa, ensureDevSnpChain, kmsOptions, serve, snpDevchainOf, stateOf } from './vault-serve.js';

const USAGE = [
  'ebak vault serve [--dir <dir>] [--state <file|postgres://…>] [--listen <host:port>] [--mode simulated|nitro] [--devca <dir>]',
  '                 [--platform nitro|sev-snp] [--snp-devchain <dir>]   (sev-snp: simulated mode only; no /dev/sev-guest here)',
  '                 --kms-key-id <id> [--kms-endpoint <url>] [--kms-region <r>] [--kms-ca <pem>] [--hsm-pin-kms <file>]',
  '                 [--registration invite|open] [--operator-key <public pem>] [--max-accounts <n>] [--guess-limit <n>] [--lockout permanent|recovery]',
  '                 [--opaque-threads <n>]              (threads computing OPAQUE login starts, default 1; 0: on the main thread)',
  '                 [--delete-credentials-kms <file>]   (the storage credentials that can delete, per account, sealed to the enclave)',
  '                 [--delete-credentials <file>]       (the same in plaintext; simulated mode only)',
  'ebak vault devca [--devca <dir>]                          (simulation: the dev CA standing in for the Nitro hypervisor; prints its root)',
  'ebak vault devca --platform sev-snp [--snp-devchain <dir>] (simulation: the dev ARK/ASK/VCEK standing in for AMD; prints chain.pem)',
  'ebak vault measure [--key-policy] [--platform nitro|sev-snp] (PCRs of this build, its simulated SEV-SNP launch measurement, or the KMS key policy)',
  'ebak vault status [--vault <url>] [--operator-key-file <pem>]',
  'ebak vault unlock --vault <url> --account <name> --recovery-key-file <file>',
  'ebak vault operator-key --out <file>                       (writes <file> (private, 0600) and <file>.pub)',
  'ebak vault invite --operator-key-file <pem> [--uses <n>] [--expires-days <n>]',
  'ebak vault provision-pin --pin-file <file> --out <file> --kms-key-id <id> [--kms-endpoint …]   (encrypts the HSM PIN for the enclave)',
  'ebak vault provision-delete-credentials --credentials-file <file> --out <file> --kms-key-id <id> [--kms-endpoint …]',
  '                                                          (checks, then encrypts the delete credentials for the enclave)',
  'ebak vault audit verify [--dir <dir>] [--state <…>] [--root <pem>] [--measurements <file>] [--vault-platform … --snp-chain <pem>] [--vault <url> --operator-key-file <pem>]',
  '  HSM (serve): --module/EBAK_HSM_MODULE --token/EBAK_HSM_TOKEN, PIN from --hsm-pin-kms (simulated mode also --pin-file/EBAK_HSM_PIN)',
  '  client trust: --vault-platform/EBAK_VAULT_PLATFORM (nitro, sev-snp or both; default nitro) --allow-debug/EBAK_VAULT_ALLOW_DEBUG',
  '    nitro:   --vault-root/EBAK_VAULT_ROOT --measurements/EBAK_VAULT_MEASUREMENTS',
  '    sev-snp: --snp-chain/EBAK_VAULT_SNP_CHAIN (ASK+ARK pem) --snp-measurement/EBAK_VAULT_SNP_MEASUREMENT',
  '             --snp-min-tcb/EBAK_VAULT_SNP_MIN_TCB',
].join('\n');

/** The flags of the commands here (vault, device) and of login, which shares the trust flags. */
type Values = ParsedFlags<'vault' | 'device' | 'login'>['values'];
type Switches = ParsedFlags<'vault' | 'device' | 'login'>['switches'];

async function readText(path: string, what: string): Promise<string> {
  return readFile(path, 'utf8').catch((e) => { throw new EbakError('USAGE', `cannot read the ${what} ${path}`, { cause: e }); });
}

const operatorKeyOf = async (v: Values) => (v['operator-key-file'] ? operatorPrivateKey(await readText(v['operator-key-file'], 'operator key file')) : undefined);

/** The client's trust flags (login and the vault commands that connect), as trustFrom takes them. */
export const trustFlags = (v: Values, s: Switches): TrustFlags => ({
  root: v['vault-root'], measurements: v.measurements, allowDebug: s['allow-debug'], platforms: v['vault-platform'],
  snpChain: v['snp-chain'], snpMeasurement: v['snp-measurement'], snpMinTcb: v['snp-min-tcb'],
});

const clientFor = (v: Values, s: Switches) => VaultClient.connect(v.vault!, trustFrom(trustFlags(v, s)).trust, CLI_PATIENCE);

/**
 * Verifies the log in the state store: chain, signatures, each boot's
 * attestation pinned to this build's measurements (or --measurements; on
 * SEV-SNP the --snp-* policy), and —
 * with --vault and the operator key — that it reaches the enclave's own signed head.
 */
async function auditVerify(v: Values, s: Switches, ctx: Context): Promise<unknown> {
  const rootFile = v.root ?? v['vault-root'];
  if (!rootFile) throw new EbakError('USAGE', 'vault audit verify needs the attestation root (--root <pem>: the AWS Nitro root, or the dev CA root.pem in simulation)');
  const root = loadRoot(await readText(rootFile, 'root'));
  const mfile = v.measurements;
  const own = vaultMeasurements();
  const pcrs = mfile ? pcrsFromMeasurements(await readText(mfile, 'measurement file'), mfile) : { 0: own.PCR0, 1: own.PCR1, 2: own.PCR2 };
  const { snp } = trustFrom({ ...trustFlags(v, s), root: rootFile }).trust;
  const key = await operatorKeyOf(v);
  if (v.vault && !key) throw new EbakError('USAGE', '--vault needs --operator-key-file (the audit head is for the operator)');
  const head = v.vault && key ? await (await clientFor(v, s)).auditHead(key) : undefined;
  if (!head) ctx.out.warn("no --vault given: the chain and signatures are checked, but entries removed from the end can only be detected against the enclave's head");
  const store = await openStore(stateOf(v));
  try {
    const report = verifyAuditLog(await store.audit(1), { root, pcrs, ...(snp ? { snp } : {}), ...(head ? { head } : {}) });
    ctx.out.line(`audit log OK: ${report.entries} entries, ${report.boots} attested boots, head ${report.head.seq} ${report.head.hash}${head ? " (the enclave's signed head)" : ''}`);
    return report;
  } finally {
    await store.close();
  }
}

async function currentDevice(ctx: Context): Promise<DeviceFile> {
  const backend = await backendFor(ctx);
  try {
    const account = await repositoryAccount(backend).catch((e) => { throw new EbakError('NO_REPOSITORY', `no ebak repository at ${backend.location}`, { cause: e }); });
    const d = await loadDevice(environment(ctx.env).configDir, account);
    if (!d) throw new EbakError('USAGE', `this machine has no vault session for ${backend.location}`, { hint: 'run `ebak login`' });
    return d;
  } finally {
    await backend.close();
  }
}

async function writeOperatorKey(v: Values, ctx: Context): Promise<unknown> {
  if (!v.out) throw new EbakError('USAGE', 'operator-key needs --out <file>', { hint: USAGE });
  const pair = generateKeyPairSync('ed25519');
  await writeFile(v.out, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, { flag: 'wx', mode: 0o600 }).catch((e) => { throw new EbakError('USAGE', `cannot create ${v.out} (it must not exist)`, { cause: e }); });
  const pub = pair.publicKey.export({ type: 'spki', format: 'pem' }) as string;
  await writeFile(`${v.out}.pub`, pub, { mode: 0o644 });
  ctx.out.line(`operator key written to ${v.out} (keep it offline); start the vault with --operator-key ${v.out}.pub`);
  return { private_key_file: v.out, public_key_file: `${v.out}.pub` };
}

async function invite(v: Values, ctx: Context): Promise<unknown> {
  const key = await operatorKeyOf(v);
  if (!key) throw new EbakError('USAGE', 'invite needs --operator-key-file <pem>', { hint: USAGE });
  const uses = Number(v.uses ?? 1); // both checked by the schema
  const days = Number(v['expires-days'] ?? 7);
  const exp = Date.now() + Math.round(days * 86_400_000);
  const token = createInvitation(key, uses, exp);
  ctx.out.line(token);
  return { invite: token, uses, expires_at: new Date(exp).toISOString() };
}

/** A secret sealed to the enclave: what the operator's file holds and how the vault is then started. */
interface Provision {
  command: string;
  purpose: SecretPurpose;
  input: 'pin-file' | 'credentials-file';
  what: string;
  /** The plaintext from the file's text (checked before anything is encrypted). */
  plaintext: (text: string, file: string) => Buffer;
  done: (out: string) => string;
}

const PROVISION_PIN: Provision = {
  command: 'provision-pin', purpose: 'hsm-pin', input: 'pin-file', what: 'PIN file',
  plaintext: (text) => Buffer.from(text.split('\n')[0]!.trimEnd(), 'utf8'),
  done: (out) => `HSM PIN encrypted for the enclave in ${out}; start the vault with --hsm-pin-kms ${out} and remove the PIN from this host`,
};

const PROVISION_DELETERS: Provision = {
  command: 'provision-delete-credentials', purpose: 'vault-delete-credentials', input: 'credentials-file', what: 'delete credentials file',
  plaintext: (text, file) => (parseDeleteCredentials(text, `--credentials-file ${file}`), Buffer.from(text, 'utf8')),
  done: (out) => `delete credentials encrypted for the enclave in ${out}; start the vault with --delete-credentials-kms ${out} (a running vault reads a new one) and remove the plaintext from this host`,
};

/** `vault provision-pin`, `vault provision-delete-credentials`: encrypts the file under the vault's key, for `p.purpose` only. */
async function provisionSecret(p: Provision, v: Values, ctx: Context): Promise<unknown> {
  const input = v[p.input];
  if (!input || !v.out) throw new EbakError('USAGE', `${p.command} needs --${p.input} and --out`, { hint: USAGE });
  const plaintext = p.plaintext(await readText(input, p.what), input);
  // Encrypt needs no attestation (anyone may encrypt to the key); only the attested enclave can decrypt.
  const kms = new RecipientKms({ ...kmsOptions(v, ctx), attester: { attest: () => { throw new EbakError('USAGE', `${p.command} only encrypts; it never attests`); } } });
  try {
    // Written whole, then renamed: a running vault never reads half a ciphertext.
    await replaceFile(v.out, await sealSecret(kms, p.purpose, plaintext), 0o600);
  } finally {
    plaintext.fill(0);
    kms.close();
  }
  ctx.out.line(p.done(v.out));
  return { out: v.out, purpose: p.purpose };
}

const VAULT_SUB: Record<string, (v: Values, ctx: Context, rest: string[], s: Switches) => Promise<unknown>> = {
  serve: async (v, ctx) => serve(v, ctx),
  measure: async (v, ctx, _rest, s) => {
    if (s['key-policy']) {
      const policy = vaultKeyPolicy();
      ctx.out.line(JSON.stringify(policy, null, 2));
      return policy;
    }
    if (v.platform === 'sev-snp') {
      const measurement = vaultSnpMeasurement();
      ctx.out.line(measurement);
      return { platform: 'sev-snp', measurement };
    }
    const m = vaultMeasurements();
    ctx.out.line(JSON.stringify({ Measurements: m }, null, 2));
    return { Measurements: m };
  },
  status: async (v, ctx, _rest, sw) => {
    const client = v.vault ? await clientFor(v, sw) : (await deviceClient(await currentDevice(ctx))).client;
    const key = await operatorKeyOf(v);
    if (key) {
      const s = await client.operatorStatus(key);
      ctx.out.line(`vault ${client.url}: ${s.mode}, attested (module ${s.module_id}), ${s.accounts} accounts, audit entry ${s.audit_seq}, registration ${s.registration}`);
      return { url: client.url, ...s };
    }
    const s = await client.status();
    ctx.out.line(`vault ${client.url}: ${s.mode}, attested (module ${s.module_id})`);
    return { url: client.url, ...s };
  },
  unlock: async (v, ctx, _rest, s) => {
    // --recovery-key-file is a global flag (main.ts takes it out wherever it stands).
    const keyFile = ctx.globals.recoveryKeyFile ?? environment(ctx.env).recoveryKeyFile;
    if (!v.vault || !v.account || !keyFile) throw new EbakError('USAGE', 'unlock needs --vault, --account and --recovery-key-file', { hint: USAGE });
    const digits = normalizeRecoveryCode((await readText(keyFile, 'recovery key file')).split('\n')[0]!);
    await (await clientFor(v, s)).unlock(v.account, digits);
    ctx.out.line(`account ${v.account} unlocked`);
    return { account: v.account, unlocked: true };
  },
  'operator-key': writeOperatorKey,
  devca: async (v, ctx) => {
    if (v.platform === 'sev-snp') {
      const chain = await ensureDevSnpChain(snpDevchainOf(v), ctx);
      ctx.out.line(chain);
      return { chain };
    }
    const root = await ensureDevCa(devcaOf(v), ctx);
    ctx.out.line(root);
    return { root };
  },
  invite,
  'provision-pin': (v, ctx) => provisionSecret(PROVISION_PIN, v, ctx),
  'provision-delete-credentials': (v, ctx) => provisionSecret(PROVISION_DELETERS, v, ctx),
  audit: async (v, ctx, rest, s) => {
    if (rest[0] !== 'verify') throw new EbakError('USAGE', 'usage: ebak vault audit verify', { hint: USAGE });
    return auditVerify(v, s, ctx);
  },
};

export const vaultCommand = defineCommand({
  name: 'vault',
  usage: USAGE,
  async run({ values, switches, positionals: [sub, ...rest] }, ctx) {
    const fn = sub === undefined ? undefined : VAULT_SUB[sub];
    if (!fn) throw new EbakError('USAGE', `unknown vault subcommand ${sub === undefined ? '(none)' : JSON.stringify(sub)}`, { hint: USAGE });
    const result = await fn(values, ctx, rest, switches);
    if (sub !== 'serve') ctx.out.result(result);
    return 0;
  },
});

const DEVICE_USAGE = [
  'ebak device list',
  'ebak device add --write-only <name> [--out <file>]   (a device that can only back up: prints a one-time code for `ebak login --enroll` on its host; asks for the password)',
  'ebak device revoke <device id or unique prefix>      (revoking another device asks for the password: a fresh login)',
].join('\n');

const kindOf = (x: DeviceInfo) => (x.kind === 'write-only' ? `write-only${x.enrolled === false ? ' (not enrolled)' : ''}` : 'full');

async function listDevices(d: DeviceFile, ctx: Context): Promise<void> {
  const { client } = await deviceClient(d);
  const devices = await client.devices(d.token);
  // Devices are often named after the same host: the id and the creation time tell them apart.
  for (const x of devices) ctx.out.line(`${x.id}  ${x.name.padEnd(20)} ${kindOf(x).padEnd(25)} created ${x.created}  ${x.revoked_at ? `revoked ${x.revoked_at}` : `expires ${x.expires_at}`}${x.current ? '  (this device)' : ''}`);
  ctx.out.result({ devices });
}

async function revokeDevice(d: DeviceFile, id: string, ctx: Context): Promise<void> {
  const { client } = await deviceClient(d);
  const target = resolveDevice(await client.devices(d.token), id);
  const stepUp = target === d.device_id ? undefined : await client.stepUp(d.token, d.account, await stepUpPassword(ctx));
  const device = await client.revoke(d.token, target, stepUp);
  ctx.out.line(`revoked ${device.id} (${device.name})`);
  ctx.out.result({ device });
}

/** `device add --write-only NAME`: the repository opened through this (full) device's session makes the credential. */
async function addDevice(d: DeviceFile, name: string, out: string | undefined, ctx: Context): Promise<void> {
  await withRepo(ctx, { action: 'backup' }, async (repo) => {
    if (d.format !== DEVICE_FORMAT) throw writeOnlyRefusal();
    const { device, code } = await addWriteOnlyDevice(repo, d, name, await stepUpPassword(ctx));
    if (out !== undefined) {
      await writeFile(out, `${code}\n`, { flag: 'wx', mode: 0o600 }).catch((e) => { throw new EbakError('USAGE', `cannot create ${out} (it must not exist)`, { cause: e }); });
      ctx.out.line(`added write-only device ${device.id} (${device.name}); on its host run \`ebak login --enroll-file <copy of ${out}>\` (the code works once)`);
    } else {
      ctx.out.line(code);
      ctx.out.warn(`added write-only device ${device.id} (${device.name}); on its host run \`ebak login --enroll <the code above>\` (it works once; keep it secret until then)`);
    }
    ctx.out.result({ device, ...(out === undefined ? { enrollment_code: code } : { out }) });
  });
}

export const deviceCommand = defineCommand({
  name: 'device',
  usage: DEVICE_USAGE,
  async run({ positionals: [sub, arg], values, switches }, ctx) {
    if (sub === 'add' && !switches['write-only']) throw new EbakError('USAGE', 'device add makes write-only devices (--write-only); a full device logs in with `ebak login`', { hint: DEVICE_USAGE });
    if (sub !== 'list' && !(arg && (sub === 'add' || sub === 'revoke'))) throw new EbakError('USAGE', `usage: ${DEVICE_USAGE}`);
    const d = await currentDevice(ctx);
    if (sub === 'list') await listDevices(d, ctx);
    else if (sub === 'add') await addDevice(d, arg!, values.out, ctx);
    else await revokeDevice(d, arg!, ctx);
    return 0;
  },
});

/** A device id, or a unique prefix of one (as `device list` prints them). */
function resolveDevice(devices: DeviceInfo[], ref: string): string {
  const matches = devices.filter((x) => x.id.startsWith(ref));
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0) throw new EbakError('NOT_FOUND', `no device ${JSON.stringify(ref)} on this account`, { hint: 'run `ebak device list`' });
  throw new EbakError('USAGE', `device prefix ${JSON.stringify(ref)} is ambiguous (${matches.length} devices)`, { hint: 'give more of the id' });
}

type DrillEntry = DrillRecordRequest & { device: string };

/** A restore drill's audit entry, as `plan status` shows a drill. */
function drillDetail(d: DrillEntry): string {
  const what = `plan ${d.plan}, snapshot ${d.snapshot.slice(0, 8) || '(none)'}: ${d.files} files, ${formatBytes(d.bytes)} in ${(d.ms / 1000).toFixed(2)} s`;
  return `${what}, ${d.verified ? 'verified' : `NOT verified${d.first_bad ? ` (${d.first_bad})` : ''}`}, device ${d.device.slice(0, 8)}`;
}

export const auditCommand = defineCommand({
  name: 'audit',
  usage: 'ebak audit',
  async run(_flags, ctx) {
    const d = await currentDevice(ctx);
    const { client } = await deviceClient(d);
    const entries = (await client.audit(d.token)) as { seq: number; time: string; type: string; detail: unknown }[];
    for (const e of entries) ctx.out.line(`${String(e.seq).padStart(6)} ${e.time} ${e.type.padEnd(14)} ${e.type === 'drill' ? drillDetail(e.detail as DrillEntry) : e.detail ? JSON.stringify(e.detail) : ''}`);
    ctx.out.result({ entries });
    return 0;
  },
});
