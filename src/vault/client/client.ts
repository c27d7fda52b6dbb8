/**
 * The vault client library: OPAQUE registration and login over the attested
 * channel, key envelopes, devices, policy, audit. The CLI commands are thin
 * layers over these calls; tests call them directly. The vault's
 * `write_only` refusal (a write-only device asked for what only a full
 * device may do) is the CLI's WRITE_ONLY error (exit 25), as in local mode.
 */
import type { KeyObject } from 'node:crypto';
import { EbakError } from '../../errors.js';
import { unlockHash, unlockSecret, unwrapMasterKey, wrapMasterKey } from '../envelope.js';
import { operatorAuthorization } from '../operator.js';
import type {
  Action, AddWriteOnlyResponse, AuditHeadResponse, AuditPage, CredentialResponse, DeviceInfo, DeviceKeyResponse, DrillRecordRequest, EnrollResponse, HeadDeltaRequest, HeadPostResponse, HeadResponse, LoginStartResponse, OperatorStatusResponse, Policy,
  RegisterStartResponse, RetentionRequest, RetentionResponse, SessionResponse, StatusResponse, StepUpResponse, DeleteRequest, DeleteResponse, DeleteStatus, SnapshotPacksRequest, RotateResponse, RenewResponse,
} from '../protocol.js';
import { VaultError } from './errors.js';
import { AttestedChannel, type VaultTrust } from './transport.js';

export interface LoginResult {
  session: SessionResponse;
  /** K: the caller zeroes it. */
  masterKey: Buffer;
}

/**
 * The OPAQUE client, loaded on first use: only sign-up, login and step-up
 * need it, and its WebAssembly start costs every other vault command ~90 ms.
 */
let opaqueModule: Promise<typeof import('@serenity-kit/opaque')> | undefined;
function opaqueClient(): Promise<typeof import('@serenity-kit/opaque')['client']> {
  opaqueModule ??= import('@serenity-kit/opaque').then(async (m) => {
    await m.ready;
    return m;
  });
  return opaqueModule.then((m) => m.client);
}

export interface ClientOptions {
  /**
   * How long, in all, calls may wait out the vault's rate limit (the
   * `retry_after` of a `rate_limited` refusal) before the refusal is the
   * caller's. 0 (the default): refused at once, as tests and load generators
   * want. The CLI waits (CLI_PATIENCE): a burst of commands, or
   * several devices of one account at once, is slowed down, not failed.
   */
  rateLimitWaitMs?: number;
}

/** The CLI's clients: a command waits out up to 30 s of the vault's rate limits before it fails. */
export const CLI_PATIENCE: ClientOptions = { rateLimitWaitMs: 30_000 };

export class VaultClient {
  private waited = 0;

  private constructor(readonly channel: AttestedChannel, private readonly o: ClientOptions) {}

  static async connect(url: string, trust: VaultTrust, o: ClientOptions = {}): Promise<VaultClient> {
    return new VaultClient(await AttestedChannel.open(url, trust), o);
  }

  get url(): string {
    return this.channel.url.origin;
  }

  /** Every call: a `write_only` refusal becomes EbakError('WRITE_ONLY'). */
  private async call<T>(method: 'GET' | 'POST', path: string, body?: unknown, auth?: string): Promise<T> {
    for (;;) {
      try {
        return await this.channel.call<T>(method, path, body, auth);
      } catch (e) {
        if (e instanceof VaultError && e.vaultCode === 'write_only') throw new EbakError('WRITE_ONLY', e.message, { hint: 'this device can only run `backup`; use a full device (or `ebak login` with the password) for anything else' });
        if (!(await this.waitedOut(e))) throw e;
      }
    }
  }

  /**
   * Waits out a rate-limit refusal while the budget lasts. Safe to repeat
   * any call: the vault refuses a rate-limited request before any work
   * (limits.ts), so a refused login start counted no guess.
   */
  private async waitedOut(e: unknown): Promise<boolean> {
    if (!(e instanceof VaultError) || e.vaultCode !== 'rate_limited' || e.retryAfter === undefined) return false;
    const ms = e.retryAfter * 1000;
    if (this.waited + ms > (this.o.rateLimitWaitMs ?? 0)) return false;
    this.waited += ms;
    await new Promise((r) => setTimeout(r, ms));
    return true;
  }

  status(): Promise<StatusResponse> {
    return this.call('GET', '/v1/status');
  }

  /** Operator-only status (signed with the operator's key). */
  operatorStatus(key: KeyObject): Promise<OperatorStatusResponse> {
    return this.call('GET', '/v1/operator/status', undefined, operatorAuthorization(key, 'GET', '/v1/operator/status'));
  }

  /** The enclave's audit head, signed by its current boot key (operator-only). */
  auditHead(key: KeyObject): Promise<AuditHeadResponse> {
    return this.call('GET', '/v1/audit/head', undefined, operatorAuthorization(key, 'GET', '/v1/audit/head'));
  }

  /** Registers `account`; the vault keeps K only inside an envelope it cannot open. `invite`: the operator's invitation. */
  async register(account: string, password: string, masterKey: Uint8Array, recoveryDigits: string, device: string, invite?: string): Promise<SessionResponse> {
    const opaque = await opaqueClient();
    const start = opaque.startRegistration({ password });
    const r = await this.call<RegisterStartResponse>('POST', '/v1/register/start', { account, request: start.registrationRequest, ...(invite === undefined ? {} : { invite }) });
    const fin = opaque.finishRegistration({ password, registrationResponse: r.response, clientRegistrationState: start.clientRegistrationState });
    const exportKey = Buffer.from(fin.exportKey, 'base64url');
    try {
      return await this.call<SessionResponse>('POST', '/v1/register/finish', {
        account, record: fin.registrationRecord, envelope: wrapMasterKey('vault', exportKey, account, masterKey),
        unlock_hash: unlockHash(unlockSecret(recoveryDigits)), device, ticket: r.ticket,
      });
    } finally {
      exportKey.fill(0);
    }
  }

  /** The first half of a login (a counted guess) and the client's finish; a wrong password is EbakError('WRONG_KEY') naming the tries left. */
  private async authenticate(account: string, password: string): Promise<{ loginId: string; finish: string; exportKey: Buffer }> {
    const opaque = await opaqueClient();
    const start = opaque.startLogin({ password });
    let ke2: LoginStartResponse;
    try {
      ke2 = await this.call<LoginStartResponse>('POST', '/v1/login/start', { account, request: start.startLoginRequest });
    } catch (e) {
      if (e instanceof VaultError && e.vaultCode === 'locked') throw new VaultError('locked', e.message.replace(/^vault refused: /, ''), 0);
      throw e;
    }
    const fin = opaque.finishLogin({ clientLoginState: start.clientLoginState, loginResponse: ke2.response, password });
    if (!fin) {
      const left = ke2.tries_left;
      throw new EbakError('WRONG_KEY', `wrong password for vault account ${account}: ${left} ${left === 1 ? 'try' : 'tries'} left before the account locks`, {
        hint: left === 0 ? 'the next attempt will be refused; unlock with `ebak vault unlock --recovery-key-file <file>`' : undefined,
      });
    }
    return { loginId: ke2.login_id, finish: fin.finishLoginRequest, exportKey: Buffer.from(fin.exportKey, 'base64url') };
  }

  /** OPAQUE login: a new device session and K. */
  async login(account: string, password: string, device: string): Promise<LoginResult> {
    const { loginId, finish, exportKey } = await this.authenticate(account, password);
    try {
      const session = await this.call<SessionResponse>('POST', '/v1/login/finish', { login_id: loginId, request: finish, device });
      const masterKey = session.envelope === undefined ? undefined : unwrapMasterKey('vault', exportKey, account, session.envelope);
      if (!masterKey) throw new EbakError('CORRUPT', `the vault released a key envelope for ${account} that this password does not open; it was altered or belongs to another account`);
      return { session, masterKey };
    } finally {
      exportKey.fill(0);
    }
  }

  deviceKey(token: string, action: Action | 'read'): Promise<DeviceKeyResponse> {
    return this.call('POST', '/v1/device/key', { action }, token);
  }

  async devices(token: string): Promise<DeviceInfo[]> {
    return (await this.call<{ devices: DeviceInfo[] }>('GET', '/v1/devices', undefined, token)).devices;
  }

  /** A step-up grant for dangerous changes: a fresh login with the password, by this device (no new device is made). */
  async stepUp(token: string, account: string, password: string): Promise<string> {
    const { loginId, finish, exportKey } = await this.authenticate(account, password);
    exportKey.fill(0);
    return (await this.call<StepUpResponse>('POST', '/v1/step-up', { login_id: loginId, request: finish }, token)).step_up;
  }

  /**
   * A master-key rotation (docs/vault.md "Master-key rotation"): a step-up
   * login whose export key wraps `masterKey` as the account's new envelope,
   * posted with the `links` (link envelopes made by the caller).
   */
  async rotate(token: string, account: string, password: string, masterKey: Uint8Array, links: string[]): Promise<RotateResponse> {
    const { loginId, finish, exportKey } = await this.authenticate(account, password);
    try {
      const stepUp = (await this.call<StepUpResponse>('POST', '/v1/step-up', { login_id: loginId, request: finish }, token)).step_up;
      return await this.call<RotateResponse>('POST', '/v1/rotate', { envelope: wrapMasterKey('vault', exportKey, account, masterKey), links, step_up: stepUp }, token);
    } finally {
      exportKey.fill(0);
    }
  }

  /** Revoking another device needs a step-up grant; this device's own does not. */
  async revoke(token: string, deviceId: string, stepUp?: string): Promise<DeviceInfo> {
    return (await this.call<{ device: DeviceInfo }>('POST', '/v1/devices/revoke', { device_id: deviceId, ...(stepUp === undefined ? {} : { step_up: stepUp }) }, token)).device;
  }

  async setPolicy(token: string, policy: Partial<Policy>, stepUp: string): Promise<Policy> {
    return (await this.call<{ policy: Policy }>('POST', '/v1/policy', { policy, step_up: stepUp }, token)).policy;
  }

  /** This account's audit events, every page. */
  async audit(token: string): Promise<unknown[]> {
    const all: unknown[] = [];
    for (let after: number | undefined = 0; after !== undefined;) {
      const page: AuditPage = await this.call<AuditPage>('GET', `/v1/audit?after=${after}&limit=500`, undefined, token);
      all.push(...page.entries);
      after = page.next;
    }
    return all;
  }

  /** The repository head of the token's account (client/head.ts checks and uses it). */
  head(token: string): Promise<HeadResponse> {
    return this.call('GET', '/v1/head', undefined, token);
  }

  postHead(token: string, delta: HeadDeltaRequest): Promise<HeadPostResponse> {
    return this.call('POST', '/v1/head', delta, token);
  }

  /** Adds a write-only device holding `credential` (sealed by the caller); needs a step-up grant. */
  addWriteOnly(token: string, device: string, credential: string, stepUp: string): Promise<AddWriteOnlyResponse> {
    return this.call('POST', '/v1/devices/write-only', { device, credential, step_up: stepUp }, token);
  }

  /** A write-only device's host enrolls with its one-time token: its session and the sealed credential. */
  enroll(enrollment: string): Promise<EnrollResponse> {
    return this.call('POST', '/v1/enroll', {}, enrollment);
  }

  /** A write-only device's new token before its session expires (the old one stops). */
  renew(token: string): Promise<RenewResponse> {
    return this.call('POST', '/v1/device/renew', {}, token);
  }

  /** A write-only device's sealed credential (refused to any other device). */
  credential(token: string): Promise<CredentialResponse> {
    return this.call('GET', '/v1/device/credential', undefined, token);
  }

  /** A restore drill's result, appended to the account's audit log as a "drill" event. */
  postDrill(token: string, record: DrillRecordRequest): Promise<{ seq: number }> {
    return this.call('POST', '/v1/drills', record, token);
  }

  /** The account's retention lock and holds, the head's first sightings and the vault's clock. */
  retention(token: string): Promise<RetentionResponse> {
    return this.channel.call('GET', '/v1/retention', undefined, token);
  }

  /** One retention change; the vault applies the rules and refuses with `retention` or `step_up_required`. */
  postRetention(token: string, change: RetentionRequest): Promise<RetentionResponse> {
    return this.channel.call('POST', '/v1/retention', change, token);
  }

  /** Whether the vault holds the repository's delete credential (client/deleter.ts). */
  deleteStatus(token: string): Promise<DeleteStatus> {
    return this.call('GET', '/v1/delete', undefined, token);
  }

  /** Snapshot objects and packs the vault deletes, all or (`retention`: protected) none. */
  deleteObjects(token: string, req: DeleteRequest): Promise<DeleteResponse> {
    return this.call('POST', '/v1/delete', req, token);
  }

  /** `POST /v1/snapshot-packs`, as clients before the head post's `packs` record a snapshot (the vault keeps it for them; this build sends packs in the head post). */
  recordSnapshotPacks(token: string, req: SnapshotPacksRequest): Promise<{ recorded: boolean }> {
    return this.call('POST', '/v1/snapshot-packs', req, token);
  }

  async unlock(account: string, recoveryDigits: string): Promise<void> {
    await this.call('POST', '/v1/unlock', { account, unlock_secret: unlockSecret(recoveryDigits) });
  }
}
