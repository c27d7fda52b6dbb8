/**
 * Per-account policy changes. Every change needs a step-up grant (a fresh
 * OPAQUE login): a device token alone could otherwise raise the guess limit,
 * lock the owner out with `lockout: permanent` and a limit of 1, or lengthen
 * its own sessions. A change that only makes the account stricter is no
 * safer to leave to a thief (a limit of 1 is a lockout), so none is exempt.
 */
import type { Policy, PolicyRequest } from '../protocol.js';
import { VaultRefusal } from '../protocol.js';
import { acctId, type AccountRecord, type Deps, type Session } from './records.js';
import { requireStepUp } from './stepup.js';

export async function setPolicy(d: Deps, s: Session, req: PolicyRequest): Promise<Policy> {
  requireStepUp(d, s, req.step_up, 'changing the account policy');
  const rec = await d.state.update<AccountRecord>(acctId(s.account.account), (cur) => {
    if (!cur) throw new VaultRefusal('not_found', `no account ${s.account.account}`);
    return { ...cur, policy: { ...cur.policy, ...req.policy } };
  });
  await d.audit.append('policy.change', s.account.account, { by: s.device.id, policy: rec.policy });
  return rec.policy;
}
