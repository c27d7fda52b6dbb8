/**
 * Registration: who may create an account, and under which OPAQUE
 * credential identifier.
 *
 * Start picks a random credential identifier (RFC 9807 §6.3.1
 * credential_identifier) and evaluates the OPRF under it; the identifier
 * travels to finish inside an enclave ticket (enclave/keys.ts), so a harvest
 * of OPRF evaluations made before the owner registers is useless: the
 * owner's record is keyed by an identifier nobody saw.
 *
 * Authorisation: `registration: 'invite'` (default) needs an invitation the
 * operator signed (operator.ts), each good for its number of uses until it
 * expires; `'open'` lets anyone register (the operator's choice). Either way
 * the vault holds at most `maxAccounts` accounts and each address has a
 * registration bucket, so the HSM's footprint (two counter objects per
 * account) is bounded by the operator.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import * as opaque from '@serenity-kit/opaque';
import { readInvitation, type Invitation } from '../operator.js';
import { VaultRefusal, type RegisterFinishRequest, type RegisterStartRequest, type RegisterStartResponse, type SessionResponse } from '../protocol.js';
import type { Devices } from './devices.js';
import { opaqueCall } from './opaque.js';
import { acctId, ctrId, inviteId, type AccountRecord, type Caller, type CounterRecord, type Deps, type InviteRecord } from './records.js';

export interface RegistrationOptions {
  registration?: 'open' | 'invite';
  /** The operator's Ed25519 public key: signs invitations (and operator requests). */
  operatorKey?: KeyObject;
  maxAccounts?: number;
}

const TICKET_SECONDS = 600;

export class Registrations {
  readonly mode: 'open' | 'invite';

  constructor(private readonly d: Deps, private readonly devices: Devices, private readonly o: RegistrationOptions) {
    this.mode = o.registration ?? 'invite';
  }

  async start(req: RegisterStartRequest, caller: Caller): Promise<RegisterStartResponse> {
    await this.d.limits.registration(caller.address);
    const invite = await this.authorize(req.invite);
    if (await this.d.state.read(acctId(req.account))) throw new VaultRefusal('conflict', `account ${req.account} already exists`);
    const credentialId = randomBytes(32).toString('base64url');
    const r = opaqueCall('registration request', () => opaque.server.createRegistrationResponse({
      serverSetup: this.d.setup, userIdentifier: credentialId, registrationRequest: req.request,
    }));
    const ticket = this.d.keys.issue('register', { account: req.account, credential_id: credentialId, invite: invite?.id ?? '', uses: String(invite?.uses ?? 0) }, this.d.now(), TICKET_SECONDS);
    return { response: r.registrationResponse, ticket };
  }

  async finish(req: RegisterFinishRequest, caller: Caller): Promise<SessionResponse> {
    await this.d.limits.registration(caller.address);
    const t = this.d.keys.check('register', req.ticket, this.d.now());
    if (!t || t.account !== req.account || !t.credential_id) throw new VaultRefusal('forbidden', 'the registration ticket is not valid for this account (expired, altered or from another start); start again');
    // A record that OPAQUE cannot use would lock its owner out later: check it now.
    const probe = opaque.client.startLogin({ password: 'probe' });
    opaqueCall('registration record', () => opaque.server.startLogin({ serverSetup: this.d.setup, registrationRecord: req.record, startLoginRequest: probe.startLoginRequest, userIdentifier: t.credential_id! }));
    await this.checkQuota(req.account);
    if (t.invite) await this.use(t.invite, Number(t.uses));
    const policy = this.d.defaults;
    const device = this.devices.create(req.device, policy);
    await this.d.state.update<AccountRecord>(acctId(req.account), (cur) => {
      if (cur) throw new VaultRefusal('conflict', `account ${req.account} already exists`);
      return {
        format: 2, account: req.account, credential_id: t.credential_id!, registration_record: req.record, envelope: req.envelope,
        unlock_hash: req.unlock_hash, policy, devices: [device.record], created: this.d.now().toISOString(),
      };
    });
    await this.d.state.update<CounterRecord>(ctrId(req.account), () => ({ failures: 0 }));
    await this.d.audit.append('register', req.account, { device: device.record.id, device_name: req.device, address: caller.address, invite: t.invite || null });
    return this.devices.session(req.account, device, policy);
  }

  /** The invitation this registration runs under (none when registration is open). */
  private async authorize(token: string | undefined): Promise<Invitation | undefined> {
    if (this.mode === 'open') return undefined;
    if (!this.o.operatorKey) throw new VaultRefusal('forbidden', 'registration on this vault needs an invitation, and the vault has no operator key to check one; the operator starts it with --operator-key');
    if (token === undefined) throw new VaultRefusal('forbidden', 'registration on this vault needs an invitation from its operator (ebak init --vault-invite <token>)');
    const invite = readInvitation(this.o.operatorKey, token);
    if (!invite) throw new VaultRefusal('forbidden', 'the invitation is not signed by this vault\'s operator or is malformed');
    if (invite.exp <= this.d.now().getTime()) throw new VaultRefusal('forbidden', `the invitation expired at ${new Date(invite.exp).toISOString()}`);
    const used = (await this.d.state.read<InviteRecord>(inviteId(invite.id)))?.value.used ?? 0;
    if (used >= invite.uses) throw new VaultRefusal('forbidden', 'the invitation has been used up');
    return invite;
  }

  /** Counts one use of an invitation (durably, before the account exists); several starts share its uses. */
  private async use(id: string, uses: number): Promise<void> {
    await this.d.state.update<InviteRecord>(inviteId(id), (cur) => {
      if ((cur?.used ?? 0) >= uses) throw new VaultRefusal('forbidden', 'the invitation has been used up');
      return { used: (cur?.used ?? 0) + 1 };
    });
  }

  private async checkQuota(account: string): Promise<void> {
    const max = this.o.maxAccounts ?? 10_000;
    if ((await this.d.state.store.list('acct/')).length >= max) {
      throw new VaultRefusal('quota', `this vault holds its maximum of ${max} accounts; ${account} cannot register (the operator raises --max-accounts)`);
    }
  }
}
