/**
 * Device sessions: a device is created by a verified OPAQUE login (or the
 * registration); its token is `<account>.<device id>.<secret>` and the vault
 * keeps only SHA-256(secret). Authentication, key release to a live device,
 * listing and revocation. Revoking another device is a dangerous change: it
 * needs a step-up grant (a fresh OPAQUE login), so a stolen device token
 * cannot lock the owner's devices out. A write-only device (writeonly.ts)
 * is created by a full device, authenticates with a one-time enrollment
 * token until its host enrolls, and is refused everything here. Revoking
 * one also forgets the head names it posted that no full device confirmed.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { VaultRefusal, type DeviceInfo, type DeviceKeyRequest, type DeviceKeyResponse, type Policy, type RotateRequest, type RotateResponse, type SessionResponse } from '../protocol.js';
import { acctId, requireFull, woId, type AccountRecord, type Caller, type DeviceRecord, type Deps, type Session, type WriteOnlyRecord } from './records.js';
import { forgetDeviceNames } from './head.js';
import { requireStepUp } from './stepup.js';

const MAX_DEVICES = 100;
export const hashHex = (s: string) => createHash('sha256').update(s).digest('hex');

export interface NewDevice {
  record: DeviceRecord;
  secret: string;
}

export class Devices {
  constructor(private readonly d: Deps) {}

  /** A new device; a write-only one starts awaiting enrollment (`secret` is its one-time enrollment secret). */
  create(name: string, policy: Policy, kind?: 'write-only'): NewDevice {
    const secret = newSecret();
    const created = this.d.now();
    return {
      secret,
      record: {
        id: randomBytes(16).toString('hex'), name, token_hash: hashHex(secret), device_key: randomBytes(32).toString('base64url'),
        created: created.toISOString(), expires_at: new Date(created.getTime() + policy.session_seconds * 1000).toISOString(),
        ...(kind ? { kind, enrollment: true as const } : {}),
      },
    };
  }

  /** Adds `device` to the account; revoked and expired devices stay listed, oldest dropped first when full. */
  add(account: string, device: DeviceRecord): Promise<AccountRecord> {
    return this.d.state.update<AccountRecord>(acctId(account), (cur) => {
      if (!cur) throw new VaultRefusal('not_found', `no account ${account}`);
      const t = this.d.now().getTime();
      const live = cur.devices.filter((x) => x.revoked_at === undefined && Date.parse(x.expires_at) > t);
      const dead = cur.devices.filter((x) => !live.includes(x));
      const devices = [...dead.slice(Math.max(0, dead.length + live.length + 1 - MAX_DEVICES)), ...live, device];
      if (devices.length > MAX_DEVICES) throw new VaultRefusal('forbidden', `account ${account} has ${MAX_DEVICES} live devices; revoke one first`);
      return { ...cur, devices };
    });
  }

  session(account: string, device: NewDevice, policy: Policy): SessionResponse {
    return {
      account, device_id: device.record.id, token: `${account}.${device.record.id}.${device.secret}`, expires_at: device.record.expires_at,
      device_key: device.record.device_key, policy,
    };
  }

  /**
   * Known device, matching secret, not revoked, not expired; only then is the
   * account's bucket charged. An enrollment token authenticates only to enroll (`enrolling`).
   */
  async authenticate(token: { account: string; deviceId: string; secret: string }, _caller: Caller, enrolling = false): Promise<Session> {
    const rec = await this.d.state.read<AccountRecord>(acctId(token.account));
    const device = rec?.value.devices.find((x) => x.id === token.deviceId);
    const ok = device !== undefined && timingSafeEqual(Buffer.from(device.token_hash, 'hex'), Buffer.from(hashHex(token.secret), 'hex'));
    if (!rec || !device || !ok) throw new VaultRefusal('unauthorized', 'unknown device token; log in again with `ebak login`');
    if (device.revoked_at !== undefined) throw new VaultRefusal('unauthorized', `this device was revoked at ${device.revoked_at}; log in again with \`ebak login\``);
    if (Date.parse(device.expires_at) <= this.d.now().getTime()) throw new VaultRefusal('unauthorized', `this device's session expired at ${device.expires_at}; log in again with \`ebak login\``);
    if ((device.enrollment === true) !== enrolling)
      throw new VaultRefusal('unauthorized', enrolling ? 'this token is not an enrollment token (or the device enrolled already)' : 'this write-only device has not enrolled yet: run `ebak login --enroll` on its host');
    await this.d.limits.account(token.account);
    return { account: rec.value, device };
  }

  /** The device key, to a live device; the action it names is audited (it is not a boundary: see protocol.ts Action). */
  async key(s: Session, req: DeviceKeyRequest): Promise<DeviceKeyResponse> {
    requireFull(s, 'releasing the device key (it opens K)');
    await this.d.audit.append('key.release', s.account.account, { device: s.device.id, action: req.action });
    return { device_key: s.device.device_key, policy: s.account.policy, ...(s.account.links ? { links: s.account.links } : {}) };
  }

  /**
   * A master-key rotation (docs/vault.md "Master-key rotation"), with a
   * step-up: the account's envelope and links replaced, and every write-only
   * device retired in the same update (its credential is of the old key:
   * docs/format.md says why they are retired, not re-wrapped).
   */
  async rotate(s: Session, req: RotateRequest): Promise<RotateResponse> {
    requireFull(s, 'rotating the master key');
    requireStepUp(this.d, s, req.step_up, 'rotating the master key');
    const account = s.account.account;
    const at = this.d.now().toISOString();
    const retire = (x: DeviceRecord) => x.kind === 'write-only' && x.revoked_at === undefined;
    const retired = s.account.devices.filter(retire).map((x) => x.id);
    const rec = await this.d.state.update<AccountRecord>(acctId(account), (cur) => {
      if (!cur) throw new VaultRefusal('not_found', `no account ${account}`);
      return { ...cur, envelope: req.envelope, links: req.links, devices: cur.devices.map((x) => (retired.includes(x.id) ? { ...x, revoked_at: at } : x)) };
    });
    for (const id of retired) await this.d.state.update<WriteOnlyRecord>(woId(account, id), () => ({ format: 1, device: id }));
    await this.d.audit.append('key.rotate', account, { device: s.device.id, links: req.links.length, retired });
    return { retired: rec.devices.filter((x) => retired.includes(x.id)).map((x) => info(x, s.device.id)) };
  }

  list(s: Session): DeviceInfo[] {
    requireFull(s, 'listing devices');
    return s.account.devices.map((x) => info(x, s.device.id));
  }

  /** Revokes a device at once; another device than the caller's needs a step-up grant. */
  async revoke(s: Session, deviceId: string, stepUp: string | undefined): Promise<DeviceInfo> {
    requireFull(s, 'revoking a device');
    const account = s.account.account;
    if (deviceId !== s.device.id) requireStepUp(this.d, s, stepUp, 'revoking another device');
    const at = this.d.now().toISOString();
    const rec = await this.d.state.update<AccountRecord>(acctId(account), (cur) => {
      if (!cur || !cur.devices.some((x) => x.id === deviceId)) throw new VaultRefusal('not_found', `no device ${deviceId} on account ${account}`);
      return { ...cur, devices: cur.devices.map((x) => (x.id === deviceId && x.revoked_at === undefined ? { ...x, revoked_at: at } : x)) };
    });
    const target = rec.devices.find((x) => x.id === deviceId)!;
    if (target.kind === 'write-only') {
      await this.d.state.update<WriteOnlyRecord>(woId(account, deviceId), () => ({ format: 1, device: deviceId })); // its sealed credential is erased
      await forgetDeviceNames(this.d, account, deviceId, s.device.id); // and the names it posted that no full device saw (head.ts)
    }
    await this.d.audit.append('device.revoke', account, { device: deviceId, by: s.device.id, step_up: deviceId !== s.device.id });
    return info(target, s.device.id);
  }
}

export const newSecret = () => randomBytes(32).toString('base64url');

/** A device as `device list` shows it. */
export function info(x: DeviceRecord, current: string): DeviceInfo {
  return {
    id: x.id, name: x.name, kind: x.kind ?? 'full', created: x.created, expires_at: x.expires_at, current: x.id === current,
    ...(x.revoked_at === undefined ? {} : { revoked_at: x.revoked_at }), ...(x.enrollment ? { enrolled: false as const } : {}),
  };
}
