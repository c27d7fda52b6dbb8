/** Unlocking a locked account with the owner's recovery key (unless its policy makes locks permanent). */
import { createHash, timingSafeEqual } from 'node:crypto';
import { VaultRefusal, type UnlockRequest } from '../protocol.js';
import { acctId, ctrId, type AccountRecord, type Caller, type CounterRecord, type Deps } from './records.js';

/**
 * Not charged to the account's rate bucket: a refused unlock is an
 * unauthenticated call (and a 212-bit recovery key is not guessable), so
 * a flood of them must not lock the owner out of logging in.
 */
export async function unlock(d: Deps, req: UnlockRequest, caller: Caller): Promise<void> {
  const rec = await d.state.read<AccountRecord>(acctId(req.account));
  if (!rec) throw new VaultRefusal('forbidden', 'the recovery key does not match this account');
  const account = rec.value;
  if (account.policy.lockout === 'permanent') throw new VaultRefusal('forbidden', `account ${req.account} locks permanently by policy; it cannot be unlocked`);
  const given = createHash('sha256').update(Buffer.from(req.unlock_secret, 'hex')).digest();
  if (!timingSafeEqual(given, Buffer.from(account.unlock_hash, 'hex'))) {
    await d.audit.append('unlock', req.account, { refused: true, address: caller.address });
    throw new VaultRefusal('forbidden', 'the recovery key does not match this account');
  }
  await d.state.update<CounterRecord>(ctrId(req.account), () => ({ failures: 0 }));
  await d.audit.append('unlock', req.account, { address: caller.address });
}
