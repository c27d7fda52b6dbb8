/**
 * Write-only devices (issue 20; docs/vault.md "Write-only devices"): a full
 * device, with a step-up grant, adds one and hands the vault its write-only
 * credential, sealed by the client under a key the vault never sees; the
 * vault answers with a one-time enrollment token. The new host enrolls with
 * it (the token is replaced by the device's own), and from then on its
 * session may fetch the sealed credential, read the repository head and add
 * names to it: nothing that releases K, changes the account or removes head
 * entries (records.ts `requireFull` guards those, with the `write_only` refusal).
 *
 * The credential lives in its own sealed record, wo/<account>/<device id>
 * (records.ts), rollback-guarded by the version map like every other, and is
 * erased when the device is revoked.
 */
import { VaultRefusal, type AddWriteOnlyRequest, type AddWriteOnlyResponse, type CredentialResponse, type EnrollResponse, type RenewResponse } from '../protocol.js';
import { hashHex, info, newSecret, type Devices } from './devices.js';
import { acctId, requireFull, woId, type AccountRecord, type Caller, type Deps, type Session, type WriteOnlyRecord } from './records.js';
import { requireStepUp } from './stepup.js';

export const WRITE_ONLY_RECORD_FORMAT = 1;

/** A stored WriteOnlyRecord, checked: a format this build does not know is refused, never guessed at. */
export function readWriteOnlyRecord(value: unknown, id: string): WriteOnlyRecord {
  const r = value as Partial<WriteOnlyRecord> | null;
  if (typeof r !== 'object' || r === null || r.format !== WRITE_ONLY_RECORD_FORMAT)
    throw new VaultRefusal('internal', `record ${id} has format ${String((r as { format?: unknown } | null)?.format)}, which this vault build does not know`);
  if (typeof r.device !== 'string' || (r.credential !== undefined && typeof r.credential !== 'string')) throw new VaultRefusal('internal', `record ${id} is malformed`);
  return { format: r.format, device: r.device, ...(r.credential === undefined ? {} : { credential: r.credential }) };
}

export class WriteOnlyDevices {
  constructor(private readonly d: Deps, private readonly devices: Devices) {}

  /** `POST /v1/devices/write-only`: a full device with a step-up grant adds a write-only device awaiting enrollment. */
  async add(s: Session, req: AddWriteOnlyRequest): Promise<AddWriteOnlyResponse> {
    requireFull(s, 'adding a device');
    requireStepUp(this.d, s, req.step_up, 'adding a write-only device');
    const account = s.account.account;
    const device = this.devices.create(req.device, s.account.policy, 'write-only');
    const id = device.record.id;
    await this.d.state.update<WriteOnlyRecord>(woId(account, id), () => ({ format: WRITE_ONLY_RECORD_FORMAT, device: id, credential: req.credential }));
    await this.devices.add(account, device.record);
    await this.d.audit.append('device.add', account, { device: id, device_name: req.device, kind: 'write-only', by: s.device.id });
    return { device: info(device.record, s.device.id), enrollment: `${account}.${id}.${device.secret}` };
  }

  /** `POST /v1/enroll`: the enrollment token, good once, becomes the device's session; the sealed credential is released. */
  async enroll(token: { account: string; deviceId: string; secret: string }, caller: Caller): Promise<EnrollResponse> {
    const s = await this.devices.authenticate(token, caller, true);
    const secret = newSecret();
    const account = s.account.account;
    const rec = await this.d.state.update<AccountRecord>(acctId(account), (cur) => {
      const device = cur?.devices.find((x) => x.id === s.device.id);
      // Two enrollments racing with one token: the second finds it used.
      if (!cur || !device?.enrollment || device.token_hash !== s.device.token_hash) throw new VaultRefusal('unauthorized', 'this enrollment token was used already');
      const { enrollment: _used, ...enrolled } = device;
      return { ...cur, devices: cur.devices.map((x) => (x.id === device.id ? { ...enrolled, token_hash: hashHex(secret) } : x)) };
    });
    const device = rec.devices.find((x) => x.id === s.device.id)!;
    const { credential } = await this.credential({ account: rec, device });
    await this.d.audit.append('device.enroll', account, { device: device.id, address: caller.address });
    return { account, device_id: device.id, token: `${account}.${device.id}.${secret}`, expires_at: device.expires_at, credential };
  }

  /**
   * `POST /v1/device/renew`: a write-only device's live token, before it
   * expires, becomes a new token valid for the policy's session_seconds from
   * now (the old one stops at once, so a copied device file dies with the
   * next renewal of the real one). Full devices log in with the password.
   */
  async renew(s: Session): Promise<RenewResponse> {
    if (s.device.kind !== 'write-only') throw new VaultRefusal('forbidden', 'a full device renews by logging in with the password (`ebak login`)');
    const secret = newSecret();
    const account = s.account.account;
    const rec = await this.d.state.update<AccountRecord>(acctId(account), (cur) => {
      const device = cur?.devices.find((x) => x.id === s.device.id);
      if (!cur || device?.token_hash !== s.device.token_hash) throw new VaultRefusal('unauthorized', 'this token was renewed already');
      const expires_at = new Date(this.d.now().getTime() + cur.policy.session_seconds * 1000).toISOString();
      return { ...cur, devices: cur.devices.map((x) => (x.id === device.id ? { ...x, token_hash: hashHex(secret), expires_at } : x)) };
    });
    const device = rec.devices.find((x) => x.id === s.device.id)!;
    await this.d.audit.append('device.renew', account, { device: device.id, expires_at: device.expires_at });
    return { token: `${account}.${device.id}.${secret}`, expires_at: device.expires_at };
  }

  /** `GET /v1/device/credential`: the sealed credential, to its own write-only device only. */
  async credential(s: Session): Promise<CredentialResponse> {
    if (s.device.kind !== 'write-only') throw new VaultRefusal('forbidden', 'only a write-only device has a write-only credential');
    const id = woId(s.account.account, s.device.id);
    const stored = await this.d.state.read<unknown>(id);
    const rec = stored && readWriteOnlyRecord(stored.value, id);
    if (!rec?.credential) throw new VaultRefusal('not_found', `no write-only credential for device ${s.device.id}`);
    await this.d.audit.append('key.release', s.account.account, { device: s.device.id, what: 'write-only credential' });
    return { credential: rec.credential };
  }
}
