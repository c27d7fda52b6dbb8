/**
 * The vault's duties, independent of HTTP: OPAQUE registration and login,
 * the durable guess counter and lockout, key release, device sessions and
 * revocation, per-account policy, rate limits, and the audit trail of each.
 * Every refusal is a VaultRefusal with an explicit code.
 *
 * Records (sealed, rollback-guarded, state/sealed.ts):
 *   opaque/setup       {setup}                        the OPAQUE server key and OPRF seed
 *   acct/<account>     AccountRecord                  registration record, envelope, policy, devices
 *   ctr/<account>      CounterRecord                  failed guesses since the last verified login
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import {
  DEFAULT_POLICY, VaultRefusal, type Action, type DeviceInfo, type DeviceKeyRequest, type LoginFinishRequest,
  type LoginStartRequest, type LoginStartResponse, type Policy, type PolicyRequest, type RegisterFinishRequest,
  type RegisterStartRequest, type RegisterStartResponse, type SessionResponse, type UnlockRequest,
} from '../protocol.js';
import type { AuditLog } from '../audit/log.js';
import type { SealedState } from '../state/sealed.js';
import { RateLimiter, type RateLimit } from './ratelimit.js';

interface DeviceRecord {
  id: string;
  name: string;
  token_hash: string;
  device_key: string;
  created: string;
  expires_at: string;
  revoked_at?: string;
}

interface AccountRecord {
  format: 1;
  account: string;
  registration_record: string;
  envelope: string;
  unlock_hash: string;
  policy: Policy;
  devices: DeviceRecord[];
  created: string;
}

interface CounterRecord {
  failures: number;
  locked_at?: string;
}

interface PendingLogin {
  account: string;
  state: string;
  expires: number;
}

export interface ServiceOptions {
  /** Defaults for new accounts (guess limit, lockout policy, session lifetime...). */
  policy?: Partial<Policy>;
  accountRate?: RateLimit;
  addressRate?: RateLimit;
  /** How long a login may sit between start and finish. */
  loginTimeoutSeconds?: number;
  now?: () => Date;
}

export interface Caller {
  address: string;
}

export interface Session {
  account: AccountRecord;
  device: DeviceRecord;
}

const MAX_PENDING = 10_000;
const MAX_DEVICES = 100;
const hashHex = (s: string) => createHash('sha256').update(s).digest('hex');
const acctId = (a: string) => `acct/${a}`;
const ctrId = (a: string) => `ctr/${a}`;

export class VaultService {
  private setup = '';
  private readonly pending = new Map<string, PendingLogin>();
  private readonly accountRate: RateLimiter;
  private readonly addressRate: RateLimiter;
  private readonly defaults: Policy;
  private readonly now: () => Date;

  constructor(private readonly state: SealedState, readonly audit: AuditLog, private readonly options: ServiceOptions = {}) {
    this.now = options.now ?? (() => new Date());
    const t = () => this.now().getTime();
    this.accountRate = new RateLimiter(options.accountRate ?? { burst: 60, perMinute: 60 }, t);
    this.addressRate = new RateLimiter(options.addressRate ?? { burst: 300, perMinute: 600 }, t);
    this.defaults = { ...DEFAULT_POLICY, ...options.policy, allow: { ...DEFAULT_POLICY.allow, ...options.policy?.allow } };
  }

  /** Loads (or, on first boot, creates) the OPAQUE server setup. */
  async init(): Promise<void> {
    await opaque.ready;
    const rec = await this.state.update<{ setup: string }>('opaque/setup', (cur) => cur ?? { setup: opaque.server.createSetup() });
    this.setup = rec.setup;
  }

  private limit(caller: Caller, account?: string): void {
    const byAddress = this.addressRate.take(`ip:${caller.address}`);
    if (byAddress > 0) throw new VaultRefusal('rate_limited', `too many requests from ${caller.address}; retry in ${byAddress} s`, { retry_after: byAddress });
    if (account === undefined) return;
    const byAccount = this.accountRate.take(`acct:${account}`);
    if (byAccount > 0) throw new VaultRefusal('rate_limited', `too many requests for account ${account}; retry in ${byAccount} s`, { retry_after: byAccount });
  }

  private async account(name: string): Promise<AccountRecord> {
    const rec = await this.state.read<AccountRecord>(acctId(name));
    if (!rec) throw new VaultRefusal('not_found', `no account ${name} on this vault; register with \`ebak init --vault\``);
    return rec.value;
  }

  async registerStart(req: RegisterStartRequest, caller: Caller): Promise<RegisterStartResponse> {
    this.limit(caller, req.account);
    if (await this.state.read(acctId(req.account))) throw new VaultRefusal('conflict', `account ${req.account} already exists`);
    const r = opaqueCall('registration request', () => opaque.server.createRegistrationResponse({ serverSetup: this.setup, userIdentifier: req.account, registrationRequest: req.request }));
    return { response: r.registrationResponse };
  }

  async registerFinish(req: RegisterFinishRequest, caller: Caller): Promise<SessionResponse> {
    this.limit(caller, req.account);
    // A record that OPAQUE cannot use would lock its owner out later: check it now.
    const probe = opaque.client.startLogin({ password: 'probe' });
    opaqueCall('registration record', () => opaque.server.startLogin({ serverSetup: this.setup, registrationRecord: req.record, startLoginRequest: probe.startLoginRequest, userIdentifier: req.account }));
    const device = this.newDevice(req.device, this.defaults);
    await this.state.update<AccountRecord>(acctId(req.account), (cur) => {
      if (cur) throw new VaultRefusal('conflict', `account ${req.account} already exists`);
      return {
        format: 1, account: req.account, registration_record: req.record, envelope: req.envelope, unlock_hash: req.unlock_hash,
        policy: this.defaults, devices: [device.record], created: this.now().toISOString(),
      };
    });
    await this.state.update<CounterRecord>(ctrId(req.account), () => ({ failures: 0 }));
    await this.audit.append('register', req.account, { device: device.record.id, device_name: req.device, address: caller.address });
    return this.session(req.account, device, this.defaults);
  }

  /**
   * The guess counter is incremented and durable BEFORE the response (KE2)
   * exists outside the vault: a client learns nothing about a guess that was
   * not counted. The response is computed first only to refuse malformed
   * requests without charging a guess.
   */
  async loginStart(req: LoginStartRequest, caller: Caller): Promise<LoginStartResponse> {
    this.limit(caller, req.account);
    if (this.pending.size >= MAX_PENDING) this.sweep();
    if (this.pending.size >= MAX_PENDING) throw new VaultRefusal('rate_limited', 'too many logins in progress; retry shortly', { retry_after: 5 });
    const account = await this.account(req.account);
    const limit = account.policy.guess_limit;
    const ke2 = opaqueCall('login request', () => opaque.server.startLogin({
      serverSetup: this.setup, registrationRecord: account.registration_record, startLoginRequest: req.request, userIdentifier: req.account,
    }));
    let newlyLocked = false;
    const ctr = await this.state.update<CounterRecord>(ctrId(req.account), (cur = { failures: 0 }) => {
      if (cur.locked_at !== undefined) throw lockedRefusal(req.account, account.policy);
      if (cur.failures >= limit) {
        newlyLocked = true;
        return { ...cur, locked_at: this.now().toISOString() };
      }
      return { failures: cur.failures + 1 };
    });
    if (newlyLocked) {
      await this.audit.append('lockout', req.account, { failures: ctr.failures, address: caller.address });
      throw lockedRefusal(req.account, account.policy);
    }
    const loginId = randomBytes(16).toString('hex');
    this.pending.set(loginId, { account: req.account, state: ke2.serverLoginState, expires: this.now().getTime() + (this.options.loginTimeoutSeconds ?? 60) * 1000 });
    await this.audit.append('login.attempt', req.account, { failures: ctr.failures, address: caller.address });
    return { login_id: loginId, response: ke2.loginResponse, tries_left: limit - ctr.failures };
  }

  async loginFinish(req: LoginFinishRequest, caller: Caller): Promise<SessionResponse> {
    this.limit(caller);
    const p = this.pending.get(req.login_id);
    this.pending.delete(req.login_id); // single use, whatever happens next
    if (!p || p.expires < this.now().getTime()) throw new VaultRefusal('not_found', 'no such login in progress (expired or already finished); start again');
    try {
      opaque.server.finishLogin({ serverLoginState: p.state, finishLoginRequest: req.request });
    } catch {
      await this.audit.append('login.fail', p.account, { reason: 'finish did not verify', address: caller.address });
      throw new VaultRefusal('login_failed', 'the login did not verify; the guess was counted');
    }
    await this.state.update<CounterRecord>(ctrId(p.account), () => ({ failures: 0 }));
    const account = await this.account(p.account);
    const device = this.newDevice(req.device, account.policy);
    const updated = await this.addDevice(p.account, device.record);
    await this.audit.append('login.ok', p.account, { device: device.record.id, device_name: req.device, address: caller.address });
    await this.audit.append('key.release', p.account, { device: device.record.id, what: 'envelope' });
    return { ...this.session(p.account, device, updated.policy), envelope: updated.envelope };
  }

  /** Logins that never finished: a wrong password (the client stops) or an abandoned one. */
  sweep(): Promise<void>[] {
    const t = this.now().getTime();
    const done: Promise<void>[] = [];
    for (const [id, p] of this.pending) {
      if (p.expires >= t) continue;
      this.pending.delete(id);
      done.push(this.audit.append('login.fail', p.account, { reason: 'no finish before the timeout (wrong password or abandoned)' }).then(() => undefined, () => undefined));
    }
    return done;
  }

  private newDevice(name: string, policy: Policy): { record: DeviceRecord; secret: string } {
    const secret = randomBytes(32).toString('base64url');
    const created = this.now();
    return {
      secret,
      record: {
        id: randomBytes(16).toString('hex'), name, token_hash: hashHex(secret), device_key: randomBytes(32).toString('base64url'),
        created: created.toISOString(), expires_at: new Date(created.getTime() + policy.session_seconds * 1000).toISOString(),
      },
    };
  }

  private addDevice(account: string, device: DeviceRecord): Promise<AccountRecord> {
    return this.state.update<AccountRecord>(acctId(account), (cur) => {
      if (!cur) throw new VaultRefusal('not_found', `no account ${account}`);
      const t = this.now().getTime();
      const live = cur.devices.filter((d) => d.revoked_at === undefined && Date.parse(d.expires_at) > t);
      const dead = cur.devices.filter((d) => !live.includes(d));
      // Keep revoked/expired devices for the listing, oldest dropped first when full.
      const devices = [...dead.slice(Math.max(0, dead.length + live.length + 1 - MAX_DEVICES)), ...live, device];
      if (devices.length > MAX_DEVICES) throw new VaultRefusal('forbidden', `account ${account} has ${MAX_DEVICES} live devices; revoke one first`);
      return { ...cur, devices };
    });
  }

  private session(account: string, d: { record: DeviceRecord; secret: string }, policy: Policy): SessionResponse {
    return {
      account, device_id: d.record.id, token: `${account}.${d.record.id}.${d.secret}`, expires_at: d.record.expires_at,
      device_key: d.record.device_key, policy,
    };
  }

  /** Checks a device token: known device, matching secret, not revoked, not expired. */
  async authenticate(token: { account: string; deviceId: string; secret: string }, caller: Caller): Promise<Session> {
    this.limit(caller, token.account);
    const rec = await this.state.read<AccountRecord>(acctId(token.account));
    const device = rec?.value.devices.find((d) => d.id === token.deviceId);
    const ok = device !== undefined && timingSafeEqual(Buffer.from(device.token_hash, 'hex'), Buffer.from(hashHex(token.secret), 'hex'));
    if (!rec || !device || !ok) throw new VaultRefusal('unauthorized', 'unknown device token; log in again with `ebak login`');
    if (device.revoked_at !== undefined) throw new VaultRefusal('unauthorized', `this device was revoked at ${device.revoked_at}; log in again with \`ebak login\``);
    if (Date.parse(device.expires_at) <= this.now().getTime()) throw new VaultRefusal('unauthorized', `this device's session expired at ${device.expires_at}; log in again with \`ebak login\``);
    return { account: rec.value, device };
  }

  async deviceKey(s: Session, req: DeviceKeyRequest): Promise<{ device_key: string; policy: Policy }> {
    const need: Action = req.action === 'read' ? 'restore' : req.action;
    if (!s.account.policy.allow[need]) {
      await this.audit.append('key.release', s.account.account, { device: s.device.id, action: req.action, refused: true });
      throw new VaultRefusal('forbidden', `the policy of account ${s.account.account} does not allow ${need}`);
    }
    await this.audit.append('key.release', s.account.account, { device: s.device.id, action: req.action });
    return { device_key: s.device.device_key, policy: s.account.policy };
  }

  devices(s: Session): DeviceInfo[] {
    return s.account.devices.map((d) => ({
      id: d.id, name: d.name, created: d.created, expires_at: d.expires_at, current: d.id === s.device.id,
      ...(d.revoked_at === undefined ? {} : { revoked_at: d.revoked_at }),
    }));
  }

  async revoke(s: Session, deviceId: string): Promise<DeviceInfo> {
    const at = this.now().toISOString();
    const rec = await this.state.update<AccountRecord>(acctId(s.account.account), (cur) => {
      if (!cur || !cur.devices.some((d) => d.id === deviceId)) throw new VaultRefusal('not_found', `no device ${deviceId} on account ${s.account.account}`);
      return { ...cur, devices: cur.devices.map((d) => (d.id === deviceId && d.revoked_at === undefined ? { ...d, revoked_at: at } : d)) };
    });
    await this.audit.append('device.revoke', s.account.account, { device: deviceId, by: s.device.id });
    return this.devices({ account: rec, device: s.device }).find((d) => d.id === deviceId)!;
  }

  async setPolicy(s: Session, req: PolicyRequest): Promise<Policy> {
    const rec = await this.state.update<AccountRecord>(acctId(s.account.account), (cur) => {
      if (!cur) throw new VaultRefusal('not_found', `no account ${s.account.account}`);
      return { ...cur, policy: { ...cur.policy, ...req.policy, allow: { ...cur.policy.allow, ...req.policy.allow } } };
    });
    await this.audit.append('policy.change', s.account.account, { by: s.device.id, policy: rec.policy });
    return rec.policy;
  }

  /** The owner's recovery key unlocks a locked account (unless the policy says locks are permanent). */
  async unlock(req: UnlockRequest, caller: Caller): Promise<void> {
    this.limit(caller, req.account);
    const account = await this.account(req.account);
    const given = createHash('sha256').update(Buffer.from(req.unlock_secret, 'hex')).digest();
    if (account.policy.lockout === 'permanent') throw new VaultRefusal('forbidden', `account ${req.account} locks permanently by policy; it cannot be unlocked`);
    if (!timingSafeEqual(given, Buffer.from(account.unlock_hash, 'hex'))) {
      await this.audit.append('unlock', req.account, { refused: true, address: caller.address });
      throw new VaultRefusal('forbidden', 'the recovery key does not match this account');
    }
    await this.state.update<CounterRecord>(ctrId(req.account), () => ({ failures: 0 }));
    await this.audit.append('unlock', req.account, { address: caller.address });
  }

  async accountEvents(s: Session): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const { entry } of await this.state.store.audit(1)) {
      const body = JSON.parse((JSON.parse(entry.toString('utf8')) as { body: string }).body) as { account: string | null };
      if (body.account === s.account.account) out.push(body);
    }
    return out;
  }

  async accounts(): Promise<number> {
    return (await this.state.store.list('acct/')).length;
  }
}

function lockedRefusal(account: string, policy: Policy): VaultRefusal {
  const how = policy.lockout === 'recovery' ? 'unlock it with `ebak vault unlock --recovery-key-file <file>`' : 'the lock is permanent by policy';
  return new VaultRefusal('locked', `account ${account} is locked after ${policy.guess_limit} failed guesses; no more guesses are evaluated; ${how}`, { tries_left: 0 });
}

/** OPAQUE rejects malformed messages by throwing: that is the client's fault. */
function opaqueCall<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch {
    throw new VaultRefusal('bad_request', `the ${what} is not a valid OPAQUE message`);
  }
}
