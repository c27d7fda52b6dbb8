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
 * null record) and a counter in vault memory, so login start answers alike
 * whether or not an account exists (docs/security.md names what still
 * differs). The OPRF is evaluated under the account's random credential id,
 * never under the bare name.
 */
import { randomBytes } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import {
  VaultRefusal, type LoginFinishRequest, type LoginStartRequest, type LoginStartResponse, type Policy, type SessionResponse,
  type StepUpRequest, type StepUpResponse,
} from '../protocol.js';
import type { Devices } from './devices.js';
import { opaqueCall } from './opaque.js';
import { acctId, ctrId, type AccountRecord, type Caller, type CounterRecord, type Deps, type Session } from './records.js';
import { issueStepUp } from './stepup.js';

interface PendingLogin {
  account: string;
  /** Undefined for a fake login (unknown account): it never verifies. */
  state: string | undefined;
  expires: number;
}

const MAX_PENDING = 10_000;
const MAX_FAKES = 10_000;

export class Logins {
  private readonly pending = new Map<string, PendingLogin>();
  /** Failed guesses at unknown accounts, so their answers count down like real ones. */
  private readonly fakes = new Map<string, number>();

  constructor(private readonly d: Deps, private readonly devices: Devices, private readonly timeoutSeconds: number) {}

  async start(req: LoginStartRequest, caller: Caller): Promise<LoginStartResponse> {
    this.d.limits.account(req.account);
    if (this.pending.size >= MAX_PENDING) await Promise.all(this.sweep());
    if (this.pending.size >= MAX_PENDING) throw new VaultRefusal('rate_limited', 'too many logins in progress; retry shortly', { retry_after: 5 });
    const rec = await this.d.state.read<AccountRecord>(acctId(req.account));
    if (!rec) return this.fake(req);
    const account = rec.value;
    const ke2 = opaqueCall('login request', () => opaque.server.startLogin({
      serverSetup: this.d.setup, registrationRecord: account.registration_record, startLoginRequest: req.request, userIdentifier: account.credential_id,
    }));
    const failures = await this.count(req.account, account.policy);
    const loginId = this.remember(req.account, ke2.serverLoginState);
    await this.d.audit.append('login.attempt', req.account, { failures, address: caller.address });
    return { login_id: loginId, response: ke2.loginResponse, tries_left: account.policy.guess_limit - failures };
  }

  /** Charges one guess durably, or refuses (and locks) when the limit is reached. */
  private async count(account: string, policy: Policy): Promise<number> {
    let newlyLocked = false;
    const ctr = await this.d.state.update<CounterRecord>(ctrId(account), (cur = { failures: 0 }) => {
      if (cur.locked_at !== undefined) throw lockedRefusal(account, policy);
      if (cur.failures >= policy.guess_limit) {
        newlyLocked = true;
        return { ...cur, locked_at: this.d.now().toISOString() };
      }
      return { failures: cur.failures + 1 };
    });
    if (newlyLocked) {
      await this.d.audit.append('lockout', account, { failures: ctr.failures });
      throw lockedRefusal(account, policy);
    }
    return ctr.failures;
  }

  private fake(req: LoginStartRequest): LoginStartResponse {
    const policy = this.d.defaults;
    const failures = (this.fakes.get(req.account) ?? 0) + 1;
    const ke2 = opaqueCall('login request', () => opaque.server.startLogin({
      serverSetup: this.d.setup, registrationRecord: null, startLoginRequest: req.request, userIdentifier: req.account,
    }));
    if (failures > policy.guess_limit) throw lockedRefusal(req.account, policy);
    if (this.fakes.size >= MAX_FAKES) this.fakes.clear();
    this.fakes.set(req.account, failures);
    return { login_id: this.remember(req.account, undefined), response: ke2.loginResponse, tries_left: policy.guess_limit - failures };
  }

  private remember(account: string, state: string | undefined): string {
    const loginId = randomBytes(16).toString('hex');
    this.pending.set(loginId, { account, state, expires: this.d.now().getTime() + this.timeoutSeconds * 1000 });
    return loginId;
  }

  /** Verifies the finish of a pending login (single use) and resets the counter; the account's name. */
  private async verify(loginId: string, request: string, caller: Caller): Promise<string> {
    const p = this.pending.get(loginId);
    this.pending.delete(loginId); // single use, whatever happens next
    if (!p || p.expires < this.d.now().getTime()) throw new VaultRefusal('not_found', 'no such login in progress (expired or already finished); start again');
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
    const p = this.pending.get(req.login_id);
    if (p && p.account !== s.account.account) throw new VaultRefusal('forbidden', 'that login belongs to another account');
    await this.verify(req.login_id, req.request, caller);
    await this.d.audit.append('step-up', s.account.account, { device: s.device.id, address: caller.address });
    return issueStepUp(this.d, s);
  }

  /** Logins that never finished: a wrong password (the client stops) or an abandoned one. */
  sweep(): Promise<void>[] {
    const t = this.d.now().getTime();
    const done: Promise<void>[] = [];
    for (const [id, p] of this.pending) {
      if (p.expires >= t) continue;
      this.pending.delete(id);
      if (p.state === undefined) continue;
      done.push(this.d.audit.append('login.fail', p.account, { reason: 'no finish before the timeout (wrong password or abandoned)' }).then(() => undefined, () => undefined));
    }
    return done;
  }
}

export function lockedRefusal(account: string, policy: Policy): VaultRefusal {
  const how = policy.lockout === 'recovery' ? 'unlock it with `ebak vault unlock --recovery-key-file <file>`' : 'the lock is permanent by policy';
  return new VaultRefusal('locked', `account ${account} is locked after ${policy.guess_limit} failed guesses; no more guesses are evaluated; ${how}`, { tries_left: 0 });
}
