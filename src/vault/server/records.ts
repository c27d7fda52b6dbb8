/**
 * The vault's sealed records (state/sealed.ts seals and rollback-guards each)
 * and the dependencies every duty of the service shares.
 *
 *   opaque/setup     {setup}          the OPAQUE server key and OPRF seed
 *   acct/<account>   AccountRecord    registration record and its credential id, envelope, policy, devices
 *   ctr/<account>    CounterRecord    failed guesses since the last verified login
 *   invite/<id>      InviteRecord     uses of one operator invitation
 *   audit/head       AuditHead        (audit/log.ts)
 *   head/<account>   HeadRecord       the repository's snapshot and index names (head.ts)
 */
import type { EnclaveKeys } from '../enclave/keys.js';
import type { AuditLog } from '../audit/log.js';
import type { Policy } from '../protocol.js';
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

export const acctId = (a: string) => `acct/${a}`;
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
}
