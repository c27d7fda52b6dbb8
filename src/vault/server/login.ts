/**
 * OPAQUE login (RFC 9807) and the guess counter.
 *
 * The counter is incremented and durable BEFORE the response (KE2) exists
 * outside the vault: a client learns nothing about a guess that was not
 * counted. The response is computed first only to refuse malformed requests
 * without charging a guess. An unfinished start is the failure (the client
 * cannot finish a wrong guess); a verified finish resets the counter.
 *
 * Unknown accounts get RFC 9807's fake response (§6.3.2.2: a KE2 made from a
 * null record) and a counter in the store's shared buckets (never refilled),
 * so login start answers alike whether or not an account exists, on every
 * replica (docs/security.md names what still differs). The OPRF is evaluated
 * under the account's random credential id, never under the bare name.
 * Pending logins are shared by the replicas (pending.ts): a login started on
 * one finishes on any, once.
 */
import { randomBytes } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import {
  VaultRefusal, type LoginFinishRequest, type LoginStartRequest, type LoginStartResponse, type Policy, type SessionResponse,
  type StepUpRequest, type StepUpResponse,
} from '../protocol.js';
import type { Devices } from './devices.js';
import { PendingLogins } from './pending.js';
import { acctId, ctrId, type AccountRecord, type Caller, type CounterRecord, type Deps, type Session } from './records.js';
import { issueStepUp } from './stepup.js';

export class Logins {
  private readonly pending: PendingLogins;

  constructor(private readonly d: Deps, private readonly devices: Devices, private readonly timeoutSeconds: number) {
    this.pending = new PendingLogins(d.state.store, d.keys.records);
  }

  async start(req: LoginStartRequest, caller: Caller): Promise<LoginStartResponse> {
    await this.d.limits.account(req.account);
    const rec = await this.d.state.read<AccountRecord>(acctId(req.account));
    if (!rec) return this.fake(req);
    const account = rec.value;
    const ke2 = await this.d.opaque.startLogin('login request', {
      registrationRecord: account.registration_record, startLoginRequest: req.request, userIdentifier: account.credential_id,
    });
    // The pending login is stored while the guess is charged; it is answered only once both are done.
    const loginId = randomBytes(16).toString('hex');
    const stored = this.pending.put(loginId, { account: req.account, state: ke2.serverLoginState, expires: this.expiry() });
    stored.catch(() => undefined); // awaited below; handled now so a failure meanwhile is not unhandled
    let failures: number;
    try {
      failures = await this.count(req.account, account.policy, caller);
    } catch (e) {
      await stored.then(() => this.pending.take(loginId), () => undefined); // never answered: it must not finish, nor expire as a failed login
      throw e;
    }
    await stored;
    return { login_id: loginId, response: ke2.loginResponse, tries_left: account.policy.guess_limit - failures };
  }

  private expiry(): number {
    return this.d.now().getTime() + this.timeoutSeconds * 1000;
  }

  /**
   * Charges one guess durably, or refuses (and locks) when the limit is reached. The `login.attempt` (or
   * `lockout`) entry rides on the counter's write: one batch, and the entry names the count that batch stored.
   */
  private async count(account: string, policy: Policy, caller: Caller): Promise<number> {
    const ctr = await this.d.state.update<CounterRecord>(ctrId(account), (cur = { failures: 0 }) => {
      if (cur.locked_at !== undefined) throw lockedRefusal(account, policy);
      if (cur.failures >= policy.guess_limit) return { ...cur, locked_at: this.d.now().toISOString() };
      return { failures: cur.failures + 1 };
    }, (next) => (next.locked_at !== undefined
      ? this.d.audit.entry('lockout', account, { failures: next.failures })
      : this.d.audit.entry('login.attempt', account, { failures: next.failures, address: caller.address })));
    if (ctr.locked_at !== undefined) throw lockedRefusal(account, policy);
    return ctr.failures;
  }

  /** An unknown account: a fake answer, counted in a bucket of guess_limit tokens that never refills. */
  private async fake(req: LoginStartRequest): Promise<LoginStartResponse> {
    const policy = this.d.defaults;
    const ke2 = await this.d.opaque.startLogin('login request', { registrationRecord: null, startLoginRequest: req.request, userIdentifier: req.account });
    const now = this.d.now().getTime();
    const left = await this.d.state.store.takeTokens({ key: `fake:${req.account}`, burst: policy.guess_limit, perMinute: 0, want: 1, refund: 0, now });
    if (left.granted === 0) throw lockedRefusal(req.account, policy);
    const loginId = randomBytes(16).toString('hex');
    await this.pending.put(loginId, { account: req.account, state: undefined, expires: this.expiry() });
    return { login_id: loginId, response: ke2.loginResponse, tries_left: Math.round(left.tokens) };
  }

  /** Verifies the finish of a pending login (single use, on any replica) and resets the counter; the account's name. */
  private async verify(loginId: string, request: string, caller: Caller, of?: string): Promise<string> {
    const p = await this.pending.take(loginId); // single use, whatever happens next
    if (!p || p.expires < this.d.now().getTime()) throw new VaultRefusal('not_found', 'no such login in progress (expired or already finished); start again');
    if (of !== undefined && p.account !== of) throw new VaultRefusal('forbidden', 'that login belongs to another account');
    try {
      if (p.state === undefined) throw new Error('fake');
      opaque.server.finishLogin({ serverLoginState: p.state, finishLoginRequest: request });
    } catch {
      if (p.state !== undefined) await this.d.audit.append('login.fail', p.account, { reason: 'finish did not verify', address: caller.address });
      throw new VaultRefusal('login_failed', 'the login did not verify; the guess was counted');
    }
    await this.d.state.update<CounterRecord>(ctrId(p.account), () => ({ failures: 0 }));
    return p.account;
  }

  /** A verified login makes a new device session and releases the envelope. */
  async finish(req: LoginFinishRequest, caller: Caller): Promise<SessionResponse> {
    const name = await this.verify(req.login_id, req.request, caller);
    const account = await this.d.state.read<AccountRecord>(acctId(name));
    if (!account) throw new VaultRefusal('not_found', `no account ${name}`);
    const device = this.devices.create(req.device, account.value.policy);
    const updated = await this.devices.add(name, device.record);
    await this.d.audit.append('login.ok', name, { device: device.record.id, device_name: req.device, address: caller.address });
    await this.d.audit.append('key.release', name, { device: device.record.id, what: 'envelope' });
    return { ...this.devices.session(name, device, updated.policy), envelope: updated.envelope };
  }

  /** A verified login by an authenticated device, for a dangerous change: a step-up grant, no new device. */
  async stepUp(s: Session, req: StepUpRequest, caller: Caller): Promise<StepUpResponse> {
    await this.verify(req.login_id, req.request, caller, s.account.account);
    await this.d.audit.append('step-up', s.account.account, { device: s.device.id, address: caller.address });
    return issueStepUp(this.d, s);
  }

  /** Logins that never finished (a wrong password: the client stops; or abandoned), whichever replica started them; idle buckets. */
  sweep(): Promise<void>[] {
    return [this.expire(), this.d.limits.sweep()].map((p) => p.catch(() => undefined));
  }

  private async expire(): Promise<void> {
    for (const p of await this.pending.expired(this.d.now().getTime())) {
      if (p.state !== undefined) await this.d.audit.append('login.fail', p.account, { reason: 'no finish before the timeout (wrong password or abandoned)' });
    }
  }
}

export function lockedRefusal(account: string, policy: Policy): VaultRefusal {
  const how = policy.lockout === 'recovery' ? 'unlock it with `ebak vault unlock --recovery-key-file <file>`' : 'the lock is permanent by policy';
  return new VaultRefusal('locked', `account ${account} is locked after ${policy.guess_limit} failed guesses; no more guesses are evaluated; ${how}`, { tries_left: 0 });
}
