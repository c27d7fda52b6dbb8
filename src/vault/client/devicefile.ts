/**
 * This machine's vault device files (format and layout: vault/client/device.ts's
 * header) and the repository's vault account name: what every command needs
 * to know whether a device session exists, without loading the vault client
 * (OPAQUE, attested TLS), which only a session that exists needs.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import type { Backend } from '../../storage/backend.js';

export const DEVICE_FORMAT = 1;
/** A write-only device's file (`ebak login --enroll`): no wrapped K, the key of its sealed credential instead. */
export const WRITE_ONLY_DEVICE_FORMAT = 2;

interface DeviceFileBase {
  vault: string;
  account: string;
  device_id: string;
  device_name: string;
  token: string;
  expires_at: string;
  root_pem: string;
  pcrs: Record<number, string>;
  allow_debug: boolean;
  /** The platforms accepted at login (absent: nitro only) and the SEV-SNP policy (device.ts). */
  platforms?: ('nitro' | 'sev-snp')[];
  snp?: { chain_pem: string; measurement: string; min_tcb?: string };
}

/** Format 1: a full device; `wrapped_key` is K under the device key the vault releases. */
export interface FullDeviceFile extends DeviceFileBase {
  format: typeof DEVICE_FORMAT;
  wrapped_key: string;
}

/**
 * Format 2: a write-only device; `credential_key` (32 bytes, base64url)
 * opens the credential the vault keeps sealed for it (src/keys/writeonly.ts):
 * neither the file nor the vault alone holds the credential.
 */
export interface WriteOnlyDeviceFile extends DeviceFileBase {
  format: typeof WRITE_ONLY_DEVICE_FORMAT;
  kind: 'write-only';
  credential_key: string;
}

export type DeviceFile = FullDeviceFile | WriteOnlyDeviceFile;

/** The vault account name of a repository whose stored config object is `config` (see the header). */
export function configAccount(config: Uint8Array): string {
  return `r-${sha256(config).toString('hex').slice(0, 40)}`;
}

/**
 * The vault account name of the repository at `backend`: the one its key
 * files name (`vault.account`, docs/format.md "Keys": written by `init
 * --vault` and a vault-mode rotation, whose new config no longer hashes to
 * it), else the config's.
 */
export async function repositoryAccount(backend: Backend): Promise<string> {
  const config = await backend.load({ type: 'config', name: 'config' });
  return (await markedAccount(backend)) ?? configAccount(config);
}

const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

/** The account a key file names (read as plain JSON: the vault client parses no repository format). */
async function markedAccount(backend: Backend): Promise<string | undefined> {
  for await (const f of backend.list('keys')) {
    let v: unknown;
    try {
      v = (JSON.parse((await backend.load({ type: 'keys', name: f.name })).toString('utf8')) as { vault?: { account?: unknown } } | null)?.vault?.account;
    } catch {
      continue; // a damaged key file names nothing
    }
    if (typeof v === 'string' && ACCOUNT.test(v)) return v;
  }
  return undefined;
}

/** EBKO version 3: a rotated repository's config (docs/format.md), whose account its key files name. */
const rotated = (config: Buffer) => config[4] === 3;

function devicePath(configDir: string, account: string): string {
  return join(configDir, 'devices', `${account}.json`);
}

export async function loadDevice(configDir: string, account: string): Promise<DeviceFile | undefined> {
  let text: string;
  try {
    text = await readFile(devicePath(configDir, account), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EbakError('IO', `cannot read device file ${devicePath(configDir, account)}`, { cause: e });
  }
  return parseDevice(text, devicePath(configDir, account));
}

/** A device file's text, its format checked: one this build does not know is refused (UNSUPPORTED_VERSION). */
export function parseDevice(text: string, where: string): DeviceFile {
  let d: DeviceFile;
  try {
    d = JSON.parse(text) as DeviceFile;
  } catch (e) {
    throw new EbakError('CORRUPT', `device file ${where} is not valid JSON`, { cause: e });
  }
  if (d?.format !== DEVICE_FORMAT && d?.format !== WRITE_ONLY_DEVICE_FORMAT) throw new EbakError('UNSUPPORTED_VERSION', `device file ${where} has format ${String((d as { format?: unknown } | null)?.format)}; upgrade ebak or run \`ebak login\` again`);
  const fields = d.format === DEVICE_FORMAT ? [d.wrapped_key] : [d.credential_key, d.kind === 'write-only' ? 'ok' : undefined];
  if (![d.vault, d.account, d.device_id, d.token, ...fields].every((f) => typeof f === 'string')) throw new EbakError('CORRUPT', `device file ${where} lacks fields of its format`);
  return d;
}

export async function saveDevice(configDir: string, d: DeviceFile): Promise<string> {
  const path = devicePath(configDir, d.account);
  await mkdir(join(configDir, 'devices'), { recursive: true, mode: 0o700 });
  await writeFile(`${path}.tmp`, JSON.stringify(d, null, 2), { mode: 0o600 });
  await chmod(`${path}.tmp`, 0o600);
  await rename(`${path}.tmp`, path);
  return path;
}

/** This machine's device file for the repository at `backend`, if there is one (and a repository). */
export async function findDevice(backend: Backend, configDir: string): Promise<DeviceFile | undefined> {
  let config: Buffer;
  try {
    config = await backend.load({ type: 'config', name: 'config' });
  } catch {
    return undefined; // no repository here: the normal path reports it
  }
  const device = await loadDevice(configDir, configAccount(config));
  if (device || !rotated(config)) return device;
  const marked = await markedAccount(backend).catch(() => undefined);
  return marked === undefined ? undefined : loadDevice(configDir, marked);
}
