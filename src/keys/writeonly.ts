/**
 * Write-only vault devices composed with the repository (docs/vault.md
 * "Write-only devices"): a full device makes a write-only credential from K
 * (Repository.newWriteOnlyCredential), seals it under a fresh credential key
 * and gives the vault the sealed bytes; the key goes into the one-time
 * enrollment code, and from there into the enrolled host's device file. So
 * the vault alone (it keeps the sealed credential) and the device file alone
 * (it keeps the key) open nothing, as with a full device's wrapped K.
 *
 * Sealed credential v1 = 0x01 ‖ nonce (12) ‖ AES-256-GCM(key, the credential
 * bundle, docs/format.md) ‖ tag (16), base64url; key = HKDF(credential key,
 * "", "ebak/v1/write-only-device"), AAD = "ebak/write-only-device/v1\0" ‖ account.
 */
import { deriveKey, open, random, seal } from '../crypto/index.js';
import { EbakError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { decodeCredential, encodeCredential, type WriteOnlyCredential } from '../repository/writeonly/credential.js';
import type { Backend } from '../storage/backend.js';
import type { DeviceInfo } from '../vault/protocol.js';
import type { FullDeviceFile } from '../vault/client/devicefile.js';
import type { EnrolledDevice, SealedCredential, TrustFlags } from '../vault/client/device.js';

const SEALED_VERSION = 1;

const aad = (account: string) => Buffer.from(`ebak/write-only-device/v1\0${account}`, 'utf8');

/** The credential sealed for the vault to keep (see the header). */
export function sealCredential(key: Uint8Array, account: string, c: WriteOnlyCredential): string {
  const k = deriveKey(key, 'write-only-device');
  try {
    return Buffer.concat([Uint8Array.of(SEALED_VERSION), seal(k, encodeCredential(c), aad(account))]).toString('base64url');
  } finally {
    k.fill(0);
  }
}

/** The credential a write-only device's session fetched; a sealed credential this key does not open is refused. */
export function openCredential(s: SealedCredential): WriteOnlyCredential {
  const raw = Buffer.from(s.sealed, 'base64url');
  if (raw[0] !== SEALED_VERSION) throw new EbakError('UNSUPPORTED_VERSION', `the vault's sealed write-only credential has version ${raw[0]}, unknown to this build; upgrade ebak`);
  const k = deriveKey(s.key, 'write-only-device');
  try {
    return decodeCredential(open(k, raw.subarray(1), aad(s.account), 'the sealed write-only credential'), 'the sealed write-only credential');
  } finally {
    k.fill(0);
  }
}

export interface AddedWriteOnlyDevice {
  device: DeviceInfo;
  /** The one-time enrollment code for the new host. */
  code: string;
}

/**
 * `ebak device add --write-only NAME` on the full device `d`, whose session
 * opened `repo`: the credential, sealed, given to the vault with a step-up
 * login (`password`); the code the new host enrolls with.
 */
export async function addWriteOnlyDevice(repo: Repository, d: FullDeviceFile, name: string, password: string): Promise<AddedWriteOnlyDevice> {
  const { deviceClient, encodeEnrollment } = await import('../vault/client/device.js');
  const key = random(32);
  const sealed = sealCredential(key, d.account, await repo.newWriteOnlyCredential());
  const { client } = await deviceClient(d);
  const stepUp = await client.stepUp(d.token, d.account, password);
  const r = await client.addWriteOnly(d.token, name, sealed, stepUp);
  return { device: r.device, code: encodeEnrollment({ vault: d.vault, enrollment: r.enrollment, key: key.toString('base64url'), name }) };
}

/**
 * `ebak login --enroll CODE` on the write-only host: refused unless the code
 * is for the repository at `backend` (checked before the one-time token is
 * spent); the credential must open before the device file is saved.
 */
export async function enrollWriteOnly(backend: Backend, code: string, configDir: string, trust: TrustFlags): Promise<EnrolledDevice> {
  const { decodeEnrollment, enrollWithVault, repositoryAccount } = await import('../vault/client/device.js');
  const e = decodeEnrollment(code);
  const account = await repositoryAccount(backend).catch((err) => { throw new EbakError('NO_REPOSITORY', `no ebak repository at ${backend.location}`, { cause: err }); });
  if (account !== e.account) throw new EbakError('USAGE', `this enrollment code is for vault account ${e.account}, not for the repository at ${backend.location} (${account})`);
  return enrollWithVault(e, configDir, trust, (c) => {
    openCredential(c);
  });
}
