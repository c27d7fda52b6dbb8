/**
 * Step-up grants: proof of a fresh OPAQUE login, for dangerous changes
 * (policy, revoking another device). A device token alone — what a thief of
 * a device holds — cannot make them. A grant is an enclave ticket
 * (enclave/keys.ts) bound to the account and the device that logged in,
 * valid for five minutes, so any replica can check it and the host cannot
 * mint one.
 */
import { VaultRefusal, type StepUpResponse } from '../protocol.js';
import type { Deps, Session } from './records.js';

export const STEP_UP_SECONDS = 300;

export function issueStepUp(d: Deps, s: Session): StepUpResponse {
  const now = d.now();
  return {
    step_up: d.keys.issue('step-up', { account: s.account.account, device: s.device.id }, now, STEP_UP_SECONDS),
    expires_at: new Date(now.getTime() + STEP_UP_SECONDS * 1000).toISOString(),
  };
}

export function requireStepUp(d: Deps, s: Session, grant: string | undefined, what: string): void {
  const body = grant === undefined ? undefined : d.keys.check('step-up', grant, d.now());
  if (!body || body.account !== s.account.account || body.device !== s.device.id) {
    throw new VaultRefusal('step_up_required', `${what} needs a fresh login with the password (step-up); the device token alone is not enough`);
  }
}
