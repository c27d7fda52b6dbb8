/**
 * The vault client library: OPAQUE registration and login over the attested
 * channel, key envelopes, devices, policy, audit. The CLI commands are thin
 * layers over these calls; tests call them directly.
 */
import * as opaque from '@serenity-kit/opaque';
import { EbakError } from '../../errors.js';
import { unlockHash, unlockSecret, unwrapMasterKey, wrapMasterKey } from '../envelope.js';
import type {
  Action, DeviceInfo, DeviceKeyResponse, LoginStartResponse, Policy, PolicyRequest, SessionResponse, StatusResponse,
} from '../protocol.js';
import { AttestedChannel, VaultError, type VaultTrust } from './transport.js';

export interface LoginResult {
  session: SessionResponse;
  /** K: the caller zeroes it. */
  masterKey: Buffer;
}

export class VaultClient {
  private constructor(readonly channel: AttestedChannel) {}

  static async connect(url: string, trust: VaultTrust): Promise<VaultClient> {
    await opaque.ready;
    return new VaultClient(await AttestedChannel.open(url, trust));
  }

  get url(): string {
    return this.channel.url.origin;
  }

  status(): Promise<StatusResponse> {
    return this.channel.call('GET', '/v1/status');
  }

  /** Registers `account`; the vault keeps K only inside an envelope it cannot open. */
  async register(account: string, password: string, masterKey: Uint8Array, recoveryDigits: string, device: string): Promise<SessionResponse> {
    const start = opaque.client.startRegistration({ password });
    const r = await this.channel.call<{ response: string }>('POST', '/v1/register/start', { account, request: start.registrationRequest });
    const fin = opaque.client.finishRegistration({ password, registrationResponse: r.response, clientRegistrationState: start.clientRegistrationState });
    const exportKey = Buffer.from(fin.exportKey, 'base64url');
    try {
      return await this.channel.call<SessionResponse>('POST', '/v1/register/finish', {
        account, record: fin.registrationRecord, envelope: wrapMasterKey('vault', exportKey, account, masterKey),
        unlock_hash: unlockHash(unlockSecret(recoveryDigits)), device,
      });
    } finally {
      exportKey.fill(0);
    }
  }

  /** OPAQUE login; a wrong password is EbakError('WRONG_KEY') naming the tries left. */
  async login(account: string, password: string, device: string): Promise<LoginResult> {
    const start = opaque.client.startLogin({ password });
    let ke2: LoginStartResponse;
    try {
      ke2 = await this.channel.call<LoginStartResponse>('POST', '/v1/login/start', { account, request: start.startLoginRequest });
    } catch (e) {
      if (e instanceof VaultError && e.vaultCode === 'locked') throw new VaultError('locked', e.message.replace(/^vault refused: /, ''), 0);
      throw e;
    }
    const fin = opaque.client.finishLogin({ clientLoginState: start.clientLoginState, loginResponse: ke2.response, password });
    if (!fin) {
      const left = ke2.tries_left;
      throw new EbakError('WRONG_KEY', `wrong password for vault account ${account}: ${left} ${left === 1 ? 'try' : 'tries'} left before the account locks`, {
        hint: left === 0 ? 'the next attempt will be refused; unlock with `ebak vault unlock --recovery-key-file <file>`' : undefined,
      });
    }
    const exportKey = Buffer.from(fin.exportKey, 'base64url');
    try {
      const session = await this.channel.call<SessionResponse>('POST', '/v1/login/finish', { login_id: ke2.login_id, request: fin.finishLoginRequest, device });
      const masterKey = session.envelope === undefined ? undefined : unwrapMasterKey('vault', exportKey, account, session.envelope);
      if (!masterKey) throw new EbakError('CORRUPT', `the vault released a key envelope for ${account} that this password does not open; it was altered or belongs to another account`);
      return { session, masterKey };
    } finally {
      exportKey.fill(0);
    }
  }

  deviceKey(token: string, action: Action | 'read'): Promise<DeviceKeyResponse> {
    return this.channel.call('POST', '/v1/device/key', { action }, token);
  }

  async devices(token: string): Promise<DeviceInfo[]> {
    return (await this.channel.call<{ devices: DeviceInfo[] }>('GET', '/v1/devices', undefined, token)).devices;
  }

  async revoke(token: string, deviceId: string): Promise<DeviceInfo> {
    return (await this.channel.call<{ device: DeviceInfo }>('POST', '/v1/devices/revoke', { device_id: deviceId }, token)).device;
  }

  async setPolicy(token: string, policy: PolicyRequest['policy']): Promise<Policy> {
    return (await this.channel.call<{ policy: Policy }>('POST', '/v1/policy', { policy }, token)).policy;
  }

  async audit(token: string): Promise<unknown[]> {
    return (await this.channel.call<{ entries: unknown[] }>('GET', '/v1/audit', undefined, token)).entries;
  }

  async unlock(account: string, recoveryDigits: string): Promise<void> {
    await this.channel.call('POST', '/v1/unlock', { account, unlock_secret: unlockSecret(recoveryDigits) });
  }
}
