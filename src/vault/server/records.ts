/**
 * The vault's sealed records (state/sealed.ts seals and rollback-guards each)
 * and the dependencies every duty of the service shares.
 *
 *   opaque/setup     {setup}          the OPAQUE server key and OPRF seed
 *   acct/<account>   AccountRecord    registration record and its credential id, envelope, policy, devices
 *   ctr/<account>    CounterRecord    failed guesses since the last verified login
 *   invite/<id>      InviteRecord     uses of one operator invitation
 *   audit/head       AuditHead        (audit/log.ts)
 *   head/<account>   HeadRecord       the repository's snapshot and index names (headrecord.ts, head.ts)
 *   wo/<account>/<device id>  WriteOnlyRecord  a write-only device's credential, sealed by the client (writeonly.ts)
 */
import type { OpaquePool } from './opaquepool.js';
import type { EnclaveKeys } from '../enclave/keys.js';
import type { AuditLog } from '../audit/log.js';
import { VaultRefusal, type Policy } from '../protocol.js';
import type { SealedState } from '../state/sealed.js';
import type { Limits } from './limits.js';

export interface DeviceRecord {
  id: string;
  name: string;
  token_hash: string;
  device_key: string;
  created: string;
  expires_at: string;
  revoked_at?: string;
  /** Absent: a full device (its key opens K). 'write-only': it may fetch its credential and add to the head, nothing else. */
  kind?: 'write-only';
  /** A write-only device whose host has not enrolled: `token_hash` is the one-time enrollment secret's. */
  enrollment?: true;
}

export interface AccountRecord {
  format: 2;
  account: string;
  /**
   * RFC 9807 credential_identifier: random per registration, so OPRF
   * evaluations anyone obtained for this account name before it registered
   * (or under an earlier registration) are useless against this record.
   */
  credential_id: string;
  registration_record: string;
  envelope: string;
  /** A master-key rotation's link envelopes (devices.ts `rotate`), released to full devices with their key. */
  links?: string[];
  unlock_hash: string;
  policy: Policy;
  devices: DeviceRecord[];
  created: string;
}

export interface CounterRecord {
  failures: number;
  locked_at?: string;
}

export interface InviteRecord {
  used: number;
}

/**
 * A write-only device's credential as the full device that added it sealed
 * it (the vault cannot open it: its key is in the enrolled host's device
 * file); erased when the device is revoked. Read with readWriteOnlyRecord.
 */
export interface WriteOnlyRecord {
  format: 1;
  device: string;
  credential?: string;
}

export const acctId = (a: string) => `acct/${a}`;
export const woId = (a: string, device: string) => `wo/${a}/${device}`;
export const ctrId = (a: string) => `ctr/${a}`;
export const inviteId = (id: string) => `invite/${id}`;

export interface Caller {
  address: string;
}

/** An authenticated device. */
export interface Session {
  account: AccountRecord;
  device: DeviceRecord;
}

/** Refuses a write-only device `what` (the one refusal every full-device-only duty gives; writeonly.ts says what such a device may do). */
export function requireFull(s: Session, what: string): void {
  if (s.device.kind === 'write-only') throw new VaultRefusal('write_only', `this device is write-only: ${what} is refused (it may back up, and nothing else)`);
}

export interface Deps {
  state: SealedState;
  audit: AuditLog;
  keys: EnclaveKeys;
  limits: Limits;
  now: () => Date;
  /** Defaults for new accounts. */
  defaults: Policy;
  /** The OPAQUE server setup (loaded at boot). */
  setup: string;
  /** Login starts' KE2 under that setup, off the event loop (opaquepool.ts). */
  opaque: OpaquePool;
}
