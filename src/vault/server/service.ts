/**
 * The vault's duties, independent of HTTP, behind one façade: registration
 * (registration.ts), login and the guess counter (login.ts), devices and key
 * release (devices.ts), step-up grants (stepup.ts), policy (policy.ts),
 * recovery unlock (recovery.ts), the audit trail and its queries
 * (auditquery.ts), repository heads (head.ts), retention locks and holds
 * (retention.ts), write-only devices (writeonly.ts: a write-only session is
 * refused everything but its credential, the head and additions to it,
 * and drill records), deletion with the credential the vault holds (deletion.ts).
 * Every refusal is a VaultRefusal with an explicit code; records are listed in records.ts.
 */
import * as opaque from '@serenity-kit/opaque';
import { DEFAULT_POLICY, type AddWriteOnlyRequest, type AddWriteOnlyResponse, type CredentialResponse, type EnrollResponse, type AuditPage, type HeadDeltaRequest, type HeadPostResponse, type HeadResponse, type DeviceInfo, type DeviceKeyRequest, type DeviceKeyResponse, type LoginFinishRequest, type LoginStartRequest, type LoginStartResponse, type Policy, type PolicyRequest, type RegisterFinishRequest, type RegisterStartRequest, type RegisterStartResponse, type SessionResponse, type StepUpRequest, type StepUpResponse, type UnlockRequest, type RetentionRequest, type RetentionResponse, type DrillRecordRequest, type DeleteRequest, type DeleteResponse, type DeleteStatus, type SnapshotPacksRequest, type RotateRequest, type RotateResponse, type RenewResponse } from '../protocol.js';
import type { AuditLog } from '../audit/log.js';
import type { EnclaveKeys } from '../enclave/keys.js';
import type { SealedState } from '../state/sealed.js';
import { accountEvents } from './auditquery.js';
import { Deletions, type Deleters } from './deletion.js';
import { Devices } from './devices.js';
import { postHead, readHead } from './head.js';
import { Limits, type LimitOptions } from './limits.js';
import { Logins } from './login.js';
import { OpaquePool } from './opaquepool.js';
import { setPolicy } from './policy.js';
import { requireFull, type Caller, type Deps, type Session } from './records.js';
import { unlock } from './recovery.js';
import { postRetention, readRetention } from './retention.js';
import { Registrations, type RegistrationOptions } from './registration.js';
import { WriteOnlyDevices } from './writeonly.js';

export type { Caller, Session } from './records.js';

export interface ServiceOptions extends LimitOptions, RegistrationOptions {
  /** Defaults for new accounts (guess limit, lockout policy, session lifetime...). */
  policy?: Partial<Policy>;
  /** How long a login may sit between start and finish. */
  loginTimeoutSeconds?: number;
  now?: () => Date;
  /** The delete credentials the vault holds, per account (`vault serve --delete-credentials`); none: clients delete themselves. */
  deleters?: Deleters;
  /** Worker threads computing login starts' OPAQUE KE2 (`vault serve --opaque-threads`); 0: on the event loop. */
  opaqueThreads?: number;
}

/** One thread: on 2 cores a second one costs more CPU per start than it gains (docs/vault.md, "OPAQUE on a worker thread"). */
const OPAQUE_THREADS = 1;

export class VaultService {
  private readonly d: Deps;
  private readonly logins: Logins;
  private readonly devs: Devices;
  private readonly registrations: Registrations;
  private readonly writeOnly: WriteOnlyDevices;
  private readonly deletions: Deletions;

  private constructor(d: Deps, options: ServiceOptions) {
    this.d = d;
    this.devs = new Devices(d);
    this.writeOnly = new WriteOnlyDevices(d, this.devs);
    this.logins = new Logins(d, this.devs, options.loginTimeoutSeconds ?? 60);
    this.registrations = new Registrations(d, this.devs, options);
    this.deletions = new Deletions(d, options.deleters ?? (async () => undefined));
  }

  /** Loads (or, on first boot, creates) the OPAQUE server setup. */
  static async create(state: SealedState, audit: AuditLog, keys: EnclaveKeys, options: ServiceOptions = {}): Promise<VaultService> {
    await opaque.ready;
    const now = options.now ?? (() => new Date());
    const rec = await state.update<{ setup: string }>('opaque/setup', (cur) => cur ?? { setup: opaque.server.createSetup() });
    const d: Deps = {
      state, audit, keys, now, setup: rec.setup, opaque: new OpaquePool(rec.setup, options.opaqueThreads ?? OPAQUE_THREADS),
      limits: new Limits(options, state.store, () => now().getTime()),
      defaults: { ...DEFAULT_POLICY, ...options.policy },
    };
    return new VaultService(d, options);
  }

  get audit(): AuditLog {
    return this.d.audit;
  }

  get registration(): 'open' | 'invite' {
    return this.registrations.mode;
  }

  /** Every request is charged to its address before anything else. */
  limitAddress(caller: Caller): Promise<void> {
    return this.d.limits.address(caller.address);
  }

  registerStart(req: RegisterStartRequest, caller: Caller): Promise<RegisterStartResponse> {
    return this.registrations.start(req, caller);
  }

  registerFinish(req: RegisterFinishRequest, caller: Caller): Promise<SessionResponse> {
    return this.registrations.finish(req, caller);
  }

  loginStart(req: LoginStartRequest, caller: Caller): Promise<LoginStartResponse> {
    return this.logins.start(req, caller);
  }

  loginFinish(req: LoginFinishRequest, caller: Caller): Promise<SessionResponse> {
    return this.logins.finish(req, caller);
  }

  async stepUp(s: Session, req: StepUpRequest, caller: Caller): Promise<StepUpResponse> {
    requireFull(s, 'a step-up login');
    return this.logins.stepUp(s, req, caller);
  }

  sweep(): Promise<void>[] {
    return this.logins.sweep();
  }

  /** Stops the OPAQUE threads (an idle pool never keeps the process alive; this ends them at shutdown). */
  close(): Promise<unknown> {
    return this.d.opaque.close();
  }

  authenticate(token: { account: string; deviceId: string; secret: string }, caller: Caller): Promise<Session> {
    return this.devs.authenticate(token, caller);
  }

  deviceKey(s: Session, req: DeviceKeyRequest): Promise<DeviceKeyResponse> {
    return this.devs.key(s, req);
  }

  devices(s: Session): DeviceInfo[] {
    return this.devs.list(s);
  }

  revoke(s: Session, deviceId: string, stepUp?: string): Promise<DeviceInfo> {
    return this.devs.revoke(s, deviceId, stepUp);
  }

  rotate(s: Session, req: RotateRequest): Promise<RotateResponse> {
    return this.devs.rotate(s, req);
  }

  async setPolicy(s: Session, req: PolicyRequest): Promise<Policy> {
    requireFull(s, 'changing the policy');
    return setPolicy(this.d, s, req);
  }

  unlock(req: UnlockRequest, caller: Caller): Promise<void> {
    return unlock(this.d, req, caller);
  }

  async accountEvents(s: Session, after = 0, limit = 100): Promise<AuditPage> {
    requireFull(s, 'reading the audit trail');
    return accountEvents(this.d, s, after, limit);
  }

  /**
   * A restore drill's result, appended as a "drill" event of the session's
   * account and device: any device may post one (a write-only one too); the
   * type is fixed here, so nothing posted becomes another event.
   */
  async recordDrill(s: Session, req: DrillRecordRequest): Promise<{ seq: number }> {
    const entry = await this.d.audit.append('drill', s.account.account, { ...req, device: s.device.id });
    return { seq: entry.seq };
  }

  head(s: Session): Promise<HeadResponse> {
    return readHead(this.d, s);
  }

  /** A write-only device posts additions only: it stores, it never deletes. */
  async postHead(s: Session, delta: HeadDeltaRequest): Promise<HeadPostResponse> {
    if (delta.pending || delta.remove_snapshots?.length || delta.remove_indexes?.length) requireFull(s, 'removing names from the repository head');
    return postHead(this.d, s, delta);
  }

  retention(s: Session): Promise<RetentionResponse> {
    requireFull(s, 'reading the retention lock');
    return readRetention(this.d, s);
  }

  postRetention(s: Session, req: RetentionRequest): Promise<RetentionResponse> {
    requireFull(s, 'changing the retention lock or holds');
    return postRetention(this.d, s, req);
  }

  deleteStatus(s: Session): Promise<DeleteStatus> {
    return this.deletions.status(s);
  }

  delete(s: Session, req: DeleteRequest): Promise<DeleteResponse> {
    return this.deletions.delete(s, req);
  }

  /** A write-only device records the packs of the snapshots it backs up, as a full one does. */
  recordSnapshotPacks(s: Session, req: SnapshotPacksRequest): Promise<{ recorded: boolean }> {
    return this.deletions.recordPacks(s, req);
  }

  addWriteOnly(s: Session, req: AddWriteOnlyRequest): Promise<AddWriteOnlyResponse> {
    return this.writeOnly.add(s, req);
  }

  enroll(token: { account: string; deviceId: string; secret: string }, caller: Caller): Promise<EnrollResponse> {
    return this.writeOnly.enroll(token, caller);
  }

  renew(s: Session): Promise<RenewResponse> {
    return this.writeOnly.renew(s);
  }

  credential(s: Session): Promise<CredentialResponse> {
    return this.writeOnly.credential(s);
  }

  async accounts(): Promise<number> {
    return (await this.d.state.store.list('acct/')).length;
  }
}
