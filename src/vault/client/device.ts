/**
 * This machine's vault device files and the client-side vault flows: `init
 * --vault`, `login`, and K through a device session. They handle K only:
 * creating or opening the repository with it is the caller's (src/keys).
 *
 * Device file v1: <config dir> (the CLI's EBAK_CONFIG_DIR, default
 * ~/.config/ebak; src/config/environment.ts) / devices /
 * <account>.json, mode 0600: {format, vault, account, device_id, device_name,
 * token, expires_at, wrapped_key (device envelope: K under the device key
 * the vault holds), root_pem, pcrs, allow_debug, and when the operator
 * accepted more than Nitro: platforms, snp {chain_pem, measurement, min_tcb?}}. The file alone opens
 * nothing: the vault releases the device key only to a live, unrevoked token.
 * Device file v2 is a write-only device's (devicefile.ts): made by
 * `ebak login --enroll` from the one-time code `ebak device add --write-only`
 * prints; its session gets the sealed write-only credential, never K.
 *
 * The vault account of a repository is derived from the repository itself:
 * "r-" + the first 40 hex digits of SHA-256(the stored config object). Anyone
 * who can read the repository can compute it; it needs no key, so a new
 * machine needs only the repository location and the password.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { X509Certificate } from 'node:crypto';
import { awsNitroRootG1, formatTcb, loadRoot, parseTcb } from '../../attestation/index.js';
import { EbakError } from '../../errors.js';
import type { Backend } from '../../storage/backend.js';
import { unwrapMasterKey, wrapMasterKey } from '../envelope.js';
import { VAULT_PLATFORMS, type VaultPlatform } from '../enclave/attester.js';
import { pcrsFromMeasurements, vaultMeasurements, vaultSnpMeasurement } from '../measure.js';
import type { Action, RotateResponse, SessionResponse } from '../protocol.js';
import { CLI_PATIENCE, VaultClient } from './client.js';
import { HeadClient } from './head.js';
import type { SnpTrust, VaultTrust } from './transport.js';
import { configAccount, DEVICE_FORMAT, repositoryAccount, saveDevice, WRITE_ONLY_DEVICE_FORMAT, type DeviceFile, type FullDeviceFile, type WriteOnlyDeviceFile } from './devicefile.js';

export { configAccount, findDevice, loadDevice, repositoryAccount, type DeviceFile } from './devicefile.js';


export interface TrustFlags {
  root?: string | undefined;
  measurements?: string | undefined;
  allowDebug?: boolean | undefined;
  /** Comma-separated platforms the vault may attest with (default nitro). */
  platforms?: string | undefined;
  /** SEV-SNP: the ASK+ARK PEM file, the launch measurement (hex), the minimum TCB (BL/TEE/SNP/UCODE). */
  snpChain?: string | undefined;
  snpMeasurement?: string | undefined;
  snpMinTcb?: string | undefined;
}

/**
 * Trust anchors (the CLI gathers them from --vault-root/EBAK_VAULT_ROOT,
 * --measurements/EBAK_VAULT_MEASUREMENTS, --allow-debug/EBAK_VAULT_ALLOW_DEBUG,
 * --vault-platform/EBAK_VAULT_PLATFORM and the --snp-* flags/EBAK_VAULT_SNP_*):
 * the root defaults to the AWS Nitro root, the measurements to this build's
 * own vault measurement, i.e. the vault this client ships with; only Nitro
 * is accepted unless the operator names sev-snp, whose chain must be given.
 */
export function trustFrom(flags: TrustFlags): { trust: VaultTrust; rootPem: string } {
  const root = flags.root ? loadRoot(readText(flags.root, 'vault root')) : awsNitroRootG1();
  const mfile = flags.measurements;
  const pcrs = mfile ? pcrsFromMeasurements(readText(mfile, 'measurement file'), mfile) : ownPcrs();
  const allowDebug = flags.allowDebug === true;
  const platforms = platformsOf(flags.platforms);
  if (!platforms.includes('sev-snp')) return { trust: { root, pcrs, allowDebug }, rootPem: root.toString() }; // nitro: the default, as before
  if (!flags.snpChain) throw new EbakError('USAGE', 'accepting sev-snp needs the ASK+ARK chain the vault must chain to (--snp-chain / EBAK_VAULT_SNP_CHAIN)');
  const snp = snpTrust(readText(flags.snpChain, 'SEV-SNP chain'), flags.snpMeasurement ?? vaultSnpMeasurement(), flags.snpMinTcb);
  return { trust: { root, pcrs, allowDebug, platforms, snp }, rootPem: root.toString() };
}

function platformsOf(list: string | undefined): VaultPlatform[] {
  const names = (list ?? 'nitro').split(',').map((p) => p.trim());
  const bad = names.find((p) => !(VAULT_PLATFORMS as readonly string[]).includes(p));
  if (bad !== undefined) throw new EbakError('USAGE', `--vault-platform is a comma-separated list of ${VAULT_PLATFORMS.join(', ')}; got ${JSON.stringify(bad)}`);
  return [...new Set(names as VaultPlatform[])];
}

/** The SEV-SNP policy from its written form (flags, or a device file). */
function snpTrust(chainPem: string, measurement: string, minTcb: string | undefined): SnpTrust {
  const blocks = chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  let certs: X509Certificate[];
  try {
    certs = blocks.map((b) => new X509Certificate(b));
  } catch (e) {
    throw new EbakError('USAGE', 'the SEV-SNP chain is not PEM certificates', { cause: e });
  }
  const roots = certs.filter((c) => c.subject === c.issuer);
  if (certs.length < 2 || roots.length === 0) throw new EbakError('USAGE', 'the SEV-SNP chain must hold the ASK and the self-signed ARK (PEM)');
  if (!/^[0-9a-fA-F]{96}$/.test(measurement)) throw new EbakError('USAGE', '--snp-measurement is the 48-byte launch measurement in hex (96 digits)');
  return { chain: Buffer.from(chainPem), roots, measurement: Buffer.from(measurement, 'hex'), ...(minTcb === undefined ? {} : { minTcb: parseTcb(minTcb, '--snp-min-tcb') }) };
}

function ownPcrs(): Record<number, string> {
  const m = vaultMeasurements();
  return { 0: m.PCR0, 1: m.PCR1, 2: m.PCR2 };
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new EbakError('USAGE', `cannot read the ${what} ${path}`, { cause: e });
  }
}




function deviceFile(url: string, s: SessionResponse, masterKey: Uint8Array, name: string, trust: VaultTrust, rootPem: string): FullDeviceFile {
  const deviceKey = Buffer.from(s.device_key, 'base64url');
  try {
    return {
      format: DEVICE_FORMAT, vault: url, account: s.account, device_id: s.device_id, device_name: name, token: s.token, expires_at: s.expires_at,
      wrapped_key: wrapMasterKey('device', deviceKey, `${s.account}\0${s.device_id}`, masterKey), root_pem: rootPem, pcrs: { ...trust.pcrs }, allow_debug: trust.allowDebug ?? false,
      ...(trust.platforms ? { platforms: [...trust.platforms] } : {}),
      ...(trust.snp ? { snp: snpRecord(trust.snp) } : {}),
    };
  } finally {
    deviceKey.fill(0);
  }
}

export const defaultDeviceName = () => hostname().slice(0, 64) || 'device';

export interface VaultInitResult {
  id: string;
  account: string;
  recoveryCode: string;
  deviceFile: string;
}

export type InitVaultOptions = TrustFlags & { account?: string | undefined; device?: string | undefined; invite?: string | undefined };
export type LoginOptions = TrustFlags & { account?: string | undefined; device?: string | undefined };

export interface VaultLogin {
  account: string;
  deviceFile: string;
  session: SessionResponse;
}

/**
 * `ebak init --vault`: K (made by the caller) wrapped for the vault under
 * the OPAQUE export key. `create(register)` creates the repository and
 * returns its id; it must call `register` with the stored config object's
 * bytes BEFORE writing anything, so a refused registration (a taken name,
 * no invitation) leaves no orphaned repository behind.
 */
export async function initWithVault(
  url: string, password: string, configDir: string, o: InitVaultOptions,
  keys: { masterKey: Uint8Array; recoveryCode: string },
  create: (register: (config: Buffer) => Promise<void>) => Promise<string>,
): Promise<VaultInitResult> {
  const { trust, rootPem } = trustFrom(o);
  const client = await VaultClient.connect(url, trust, CLI_PATIENCE); // refuse early: nothing is created if the vault is not the attested one
  const name = o.device ?? defaultDeviceName();
  let registered: { account: string; session: SessionResponse } | undefined;
  const id = await create(async (config) => {
    const account = o.account ?? configAccount(config);
    registered = { account, session: await client.register(account, password, keys.masterKey, keys.recoveryCode, name, o.invite) };
  });
  const { account, session } = registered!;
  const file = await saveDevice(configDir, deviceFile(client.url, session, keys.masterKey, name, trust, rootPem));
  return { id, account, recoveryCode: keys.recoveryCode, deviceFile: file };
}

/**
 * `ebak login`: OPAQUE login with only the password; `opens` tells whether a
 * key opens the repository (its config authenticates under it). After a
 * master-key rotation the envelope's key may not be the one the config is
 * sealed under yet (a rotation killed before its switch): the session's
 * links then lead to the one that is. The device is saved with the key that opens.
 */
export async function loginWithVault(backend: Backend, url: string, password: string, configDir: string, o: LoginOptions, opens: KeyTest): Promise<VaultLogin> {
  const { trust, rootPem } = trustFrom(o);
  const account = o.account ?? (await repositoryAccount(backend));
  const client = await VaultClient.connect(url, trust, CLI_PATIENCE);
  const name = o.device ?? defaultDeviceName();
  const { session, masterKey } = await client.login(account, password, name);
  try {
    const links = async () => (await client.deviceKey(session.token, 'read')).links ?? [];
    const key = await openingKey(masterKey, account, links, opens);
    if (!key) throw new EbakError('AUTH_FAILED', `the key the vault holds for ${account} does not open the repository at ${backend.location}`);
    return { account, session, deviceFile: await saveDevice(configDir, deviceFile(client.url, session, key, name, trust, rootPem)) };
  } finally {
    masterKey.fill(0);
  }
}

/** Whether a master key opens the repository (the caller reads its config). */
export type KeyTest = (masterKey: Buffer) => Promise<boolean>;

/**
 * The key among `start` and the keys its rotation links lead to (each link
 * is one master key wrapped under another: docs/vault.md "Master-key
 * rotation") that `opens` accepts; `start` itself when it does.
 */
async function openingKey(start: Buffer, account: string, links: () => Promise<string[]>, opens: KeyTest): Promise<Buffer | undefined> {
  if (await opens(start)) return start;
  for (const k of linkedKeys(start, account, await links())) if (await opens(k)) return k;
  return undefined;
}

/** Every key reachable from `start` through the links, `start` excluded. */
function linkedKeys(start: Buffer, account: string, links: readonly string[]): Buffer[] {
  const found = [start];
  for (let i = 0; i < found.length; i++) {
    for (const l of links) {
      const k = unwrapMasterKey('link', found[i]!, account, l);
      if (k && !found.some((f) => f.equals(k))) found.push(k);
    }
  }
  return found.slice(1);
}

/**
 * `ebak key rotate-master` in vault mode, from the full device `d`: the
 * account's envelope of `next` (a step-up login with the password) and the
 * links: `next` under every key in `held` (the rotating repository's
 * generations, so a device holding any of them finds `next`), and `current`
 * under `next` (a rotation killed before its config switch leaves `next` in
 * the envelope and `current` opening the config). Posted before the switch.
 */
export async function rotateWithVault(d: FullDeviceFile, password: string, next: Buffer, current: Buffer, held: readonly Buffer[]): Promise<RotateResponse> {
  const links = [...held.map((k) => wrapMasterKey('link', k, d.account, next)), wrapMasterKey('link', next, d.account, current)];
  const { client } = await deviceClient(d);
  return client.rotate(d.token, d.account, password, next, links);
}

/**
 * What a device session gives, with the repository head's client on the same
 * attested channel: K (a full device), or a write-only device's credential
 * as the vault keeps it sealed and the key from its device file that opens it
 * (src/keys/writeonly.ts opens it: this client never parses a credential).
 */
export type DeviceSession = { masterKey: Buffer; head: HeadClient } | { sealedCredential: SealedCredential; head: HeadClient };

export interface SealedCredential {
  account: string;
  sealed: string;
  key: Buffer;
}

/**
 * K, or the sealed credential, through this machine's device session `d`
 * (found by findDevice), and the session's repository head. A full device
 * whose K no longer opens the repository (`opens`: a master-key rotation
 * happened elsewhere) follows the vault's rotation links to the key that
 * does, and its device file is saved again wrapping that key. A write-only
 * device's session is renewed first when it ends soon (`renewed`).
 */
export async function deviceSession(d: DeviceFile, action: Action | 'read' = 'read', local?: { opens: KeyTest; configDir: string }): Promise<DeviceSession> {
  const { client } = await deviceClient(d);
  if (d.format === WRITE_ONLY_DEVICE_FORMAT) {
    const w = local ? await renewed(client, d, local.configDir) : d;
    const { credential } = await client.credential(w.token);
    return { sealedCredential: { account: w.account, sealed: credential, key: Buffer.from(w.credential_key, 'base64url') }, head: new HeadClient(client, w.token, w.account, true) };
  }
  const head = new HeadClient(client, d.token, d.account);
  const { device_key, links } = await client.deviceKey(d.token, action);
  const key = Buffer.from(device_key, 'base64url');
  try {
    const k = unwrapMasterKey('device', key, `${d.account}\0${d.device_id}`, d.wrapped_key);
    if (!k) throw new EbakError('WRONG_KEY', `the vault's device key does not open this machine's key for ${d.account}`, { hint: 'run `ebak login` again' });
    const found = local && links ? await openingKey(k, d.account, async () => links, local.opens) : k;
    if (!found || found === k) return { masterKey: k, head };
    k.fill(0);
    await saveDevice(local!.configDir, { ...d, wrapped_key: wrapMasterKey('device', key, `${d.account}\0${d.device_id}`, found) });
    return { masterKey: found, head };
  } finally {
    key.fill(0);
  }
}

/** A write-only session renews when less than this is left of it (a policy's session_seconds at or below it: every command renews). */
const RENEW_WITHIN_MS = 7 * 24 * 3600 * 1000;

/**
 * A write-only device's session renewed (docs/vault.md "Write-only
 * devices") when it ends within RENEW_WITHIN_MS: the vault's new token and
 * expiry saved in its device file before the old token is used again.
 */
async function renewed(client: VaultClient, d: WriteOnlyDeviceFile, configDir: string): Promise<WriteOnlyDeviceFile> {
  if (Date.parse(d.expires_at) - Date.now() > RENEW_WITHIN_MS) return d;
  const r = await client.renew(d.token);
  const next = { ...d, token: r.token, expires_at: r.expires_at };
  await saveDevice(configDir, next);
  return next;
}

const snpRecord = (t: SnpTrust) => ({ chain_pem: Buffer.from(t.chain).toString('latin1'), measurement: Buffer.from(t.measurement).toString('hex'), ...(t.minTcb ? { min_tcb: formatTcb(t.minTcb) } : {}) });

/** A connected client with the trust pinned in the device file. */
export async function deviceClient(d: DeviceFile): Promise<{ client: VaultClient; device: DeviceFile }> {
  const trust: VaultTrust = {
    root: new X509Certificate(d.root_pem), pcrs: d.pcrs, allowDebug: d.allow_debug,
    ...(d.platforms ? { platforms: d.platforms } : {}),
    ...(d.snp ? { snp: snpTrust(d.snp.chain_pem, d.snp.measurement, d.snp.min_tcb) } : {}),
  };
  return { client: await VaultClient.connect(d.vault, trust, CLI_PATIENCE), device: d };
}

// ---- write-only devices: the enrollment code and `ebak login --enroll` ----

const ENROLL_PREFIX = 'ebak-enroll1.';

/** What the one-time enrollment code carries: where, the vault's enrollment token, the credential's key, the device name. */
export interface Enrollment {
  vault: string;
  enrollment: string;
  key: string;
  name: string;
}

/** "ebak-enroll1." ‖ base64url(JSON): one string to paste or put in a file (0600). */
export function encodeEnrollment(e: Enrollment): string {
  return ENROLL_PREFIX + Buffer.from(JSON.stringify(e)).toString('base64url');
}

/** A code from encodeEnrollment, checked; and the account its token names. */
export function decodeEnrollment(code: string): Enrollment & { account: string } {
  const bad = () => new EbakError('USAGE', 'the enrollment code is malformed (copy all of what `ebak device add --write-only` printed)');
  if (!code.startsWith(ENROLL_PREFIX)) throw bad();
  let e: Enrollment;
  try {
    e = JSON.parse(Buffer.from(code.slice(ENROLL_PREFIX.length), 'base64url').toString('utf8')) as Enrollment;
  } catch {
    throw bad();
  }
  const m = /^([A-Za-z0-9][A-Za-z0-9._@-]{0,127})\.[0-9a-f]{32}\.[A-Za-z0-9_-]{43}$/.exec(typeof e?.enrollment === 'string' ? e.enrollment : '');
  if (!m || typeof e.vault !== 'string' || typeof e.name !== 'string' || typeof e.key !== 'string' || Buffer.from(e.key, 'base64url').length !== 32) throw bad();
  return { ...e, account: m[1]! };
}

export interface EnrolledDevice {
  account: string;
  deviceId: string;
  expiresAt: string;
  deviceFile: string;
}

/**
 * `ebak login --enroll`: the one-time token becomes this host's write-only
 * device session. `open` must open the credential the vault released (with
 * the code's key) before the device file is saved.
 */
export async function enrollWithVault(e: Enrollment & { account: string }, configDir: string, o: TrustFlags, open: (c: SealedCredential) => void): Promise<EnrolledDevice> {
  const { trust, rootPem } = trustFrom(o);
  const client = await VaultClient.connect(e.vault, trust, CLI_PATIENCE);
  const r = await client.enroll(e.enrollment);
  open({ account: r.account, sealed: r.credential, key: Buffer.from(e.key, 'base64url') });
  const deviceFile = await saveDevice(configDir, {
    format: WRITE_ONLY_DEVICE_FORMAT, kind: 'write-only', vault: client.url, account: r.account, device_id: r.device_id, device_name: e.name,
    token: r.token, expires_at: r.expires_at, credential_key: e.key, root_pem: rootPem, pcrs: { ...trust.pcrs }, allow_debug: trust.allowDebug ?? false,
  });
  return { account: r.account, deviceId: r.device_id, expiresAt: r.expires_at, deviceFile };
}
