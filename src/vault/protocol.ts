/**
 * The vault's wire protocol, apart from transport: request and response
 * bodies (JSON, UTF-8), the error shape, and strict readers for every field
 * a client sends. docs/vault.md "Protocol" is the reference; the version is
 * in the path (/v1/).
 *
 * Every request body is parsed by `parseBody` + one reader below before the
 * service sees it: unknown fields, wrong types and oversized values are a
 * `bad_request` (HTTP 400), never an exception that escapes.
 *
 * (Over 400 lines because it is the whole wire contract in one place: each
 * body's type sits beside its reader, so a field added to one is seen in the
 * other; splitting it by route would scatter the shared field checks.)
 */

import { createHash } from 'node:crypto';
import { LOCK_MODES, MAX_DAYS, MAX_REASON, type LegalHold, type LockMode, type RetentionLock } from '../retention/lock.js';

export const PROTOCOL_VERSION = 1;
/** No request body is larger (OPAQUE messages are < 1 KiB), except a head delta's. */
export const MAX_BODY_BYTES = 16 * 1024;
/**
 * `POST /v1/head` (and the deletion endpoints): a prune may remove hundreds of index files; a client chunks past
 * MAX_HEAD_NAMES. 2 MiB: a delta's names and its pack names, 10,000 each at 67 bytes, fit.
 */
export const MAX_HEAD_BODY_BYTES = 2 * 1024 * 1024;
/** Names in one head delta, all lists together; also the pack names of its `packs`, all snapshots together. */
export const MAX_HEAD_NAMES = 10_000;
/** Snapshots one head delta may give packs for: each is one more sealed record in the head's commit. */
export const MAX_PACKED_SNAPSHOTS = 64;

export type VaultErrorCode =
  | 'bad_request' // malformed JSON, unknown or ill-typed field (400)
  | 'unauthorized' // no, expired, revoked or unknown device token or operator signature (401)
  | 'step_up_required' // a dangerous change needs a fresh OPAQUE login (401)
  | 'login_failed' // the OPAQUE finish did not verify (401)
  | 'forbidden' // the account's policy refuses this action (403)
  | 'not_found' // no such account, device, login or endpoint (404)
  | 'method_not_allowed' // (405)
  | 'conflict' // the account already exists (409)
  | 'quota' // the vault's registration quota is used up (403)
  | 'payload_too_large' // body over MAX_BODY_BYTES (413)
  | 'unsupported_media_type' // body not application/json (415)
  | 'locked' // the guess limit is reached; no more guesses are evaluated (423)
  | 'rate_limited' // too many requests for this account or address (429)
  | 'retention' // a retention lock or legal hold refuses it: a protected snapshot's removal, a frozen compliance lock's change (409)
  | 'internal' // the vault failed (500); the request had no effect
  | 'state_rollback' // sealed state older than the HSM's counter: refused (503)
  | 'write_only'; // a write-only device asked for what only a full device may do (403)

export const HTTP_STATUS: Record<VaultErrorCode, number> = {
  bad_request: 400, unauthorized: 401, step_up_required: 401, login_failed: 401, forbidden: 403, quota: 403, not_found: 404,
  method_not_allowed: 405, conflict: 409, payload_too_large: 413, unsupported_media_type: 415,
  locked: 423, rate_limited: 429, retention: 409, internal: 500, state_rollback: 503, write_only: 403,
};

/** The body of every non-2xx answer. */
export interface ErrorBody {
  error: { code: VaultErrorCode; message: string; tries_left?: number; retry_after?: number };
}

/** Thrown inside the server; the HTTP layer turns it into an ErrorBody. */
export class VaultRefusal extends Error {
  constructor(readonly code: VaultErrorCode, message: string, readonly extra: { tries_left?: number; retry_after?: number } = {}) {
    super(message);
    this.name = 'VaultRefusal';
  }
}

/**
 * What a device says it will do with the key it asks for: recorded in the
 * audit log, not enforced. Every action gets the same key (K opens the whole
 * repository), so per-action "allow" flags would be no boundary and were
 * removed; write-only devices and vault-decided deletion are the boundaries
 * that come with their own keys (docs/security.md).
 */
export type Action = 'backup' | 'restore' | 'delete';
export const ACTIONS: readonly Action[] = ['backup', 'restore', 'delete'];

/** Per-account policy (docs/vault.md "Policy"). */
export interface Policy {
  /** Snapshots younger than this may not be deleted (clients enforce it against storage; the vault reports it). */
  retention_floor_days: number;
  /** Failed guesses before the account locks. */
  guess_limit: number;
  /** `permanent`: a locked account stays locked; `recovery`: the owner's recovery key unlocks it. */
  lockout: 'permanent' | 'recovery';
  /** Device token lifetime. */
  session_seconds: number;
}

export const DEFAULT_POLICY: Policy = {
  retention_floor_days: 0,
  guess_limit: 10,
  lockout: 'recovery',
  session_seconds: 30 * 24 * 3600,
};

// ---- request bodies ----
export interface RegisterStartRequest { account: string; request: string; invite?: string }
/** `ticket`: sealed by the enclave, carries this registration's random credential identifier (RFC 9807). */
export interface RegisterStartResponse { response: string; ticket: string }
export interface RegisterFinishRequest { account: string; record: string; envelope: string; unlock_hash: string; device: string; ticket: string }
export interface LoginStartRequest { account: string; request: string }
export interface LoginStartResponse { login_id: string; response: string; tries_left: number }
export interface LoginFinishRequest { login_id: string; request: string; device: string }
/** Returned by register/finish and login/finish: a new device session. */
export interface SessionResponse {
  account: string;
  device_id: string;
  token: string;
  expires_at: string;
  /** 32 bytes (base64url) the client wraps K under locally; released again only to a live token. */
  device_key: string;
  /** The key envelope (login only; at registration the client already holds K). */
  envelope?: string;
  policy: Policy;
}
export interface DeviceKeyRequest { action: Action | 'read' }
/** `links`: a master-key rotation's link envelopes (docs/vault.md "Master-key rotation"), absent before the account's first. */
export interface DeviceKeyResponse { device_key: string; policy: Policy; links?: string[] }
/** `kind`: a full device opens K; a write-only device only backs up. `enrolled: false`: a write-only device whose host has not enrolled yet. */
export interface DeviceInfo { id: string; name: string; kind: DeviceKind; created: string; expires_at: string; revoked_at?: string; current: boolean; enrolled?: false }
export interface DevicesResponse { devices: DeviceInfo[] }
export interface RevokeRequest { device_id: string; step_up?: string }
export interface StepUpRequest { login_id: string; request: string }
export interface StepUpResponse { step_up: string; expires_at: string }
export interface UnlockRequest { account: string; unlock_secret: string }
export interface PolicyRequest { policy: Partial<Policy>; step_up: string }
/** Public: what the attestation document says anyway. */
export interface StatusResponse { version: number; mode: 'simulated' | 'nitro'; module_id: string; pcrs: Record<string, string> }
/** For the operator only (a signed request). */
export interface OperatorStatusResponse extends StatusResponse { accounts: number; audit_seq: number; registration: 'open' | 'invite' }
/** The audit head as the enclave knows it, signed by this boot's audit key. */
export interface AuditHeadResponse { seq: number; hash: string; time: string; signing_key: string; sig: string }
export interface AuditPage { entries: unknown[]; next?: number }

/**
 * A repository's head (docs/vault.md "Repository head"): the live snapshot
 * ids and index file names, those being removed (pending) and the removed
 * ones (tombstones, the newest 10,000 of each kind). Names are 64 hex digits.
 */
export interface HeadState {
  seq: number;
  snapshots: string[];
  indexes: string[];
  pending_snapshots: string[];
  pending_indexes: string[];
  removed_snapshots: string[];
  removed_indexes: string[];
}
/**
 * GET /v1/head; `digest`: headDigest, what the audit log quotes. The
 * `unconfirmed_*` maps (live name → the write-only device that added it,
 * not yet seen in storage by a full device) are not in the digest.
 */
export interface HeadResponse extends HeadState {
  digest: string;
  unconfirmed_snapshots: Record<string, string>;
  unconfirmed_indexes: Record<string, string>;
}
/**
 * POST /v1/head: additions (after the objects are stored), removals (pending: before deleting; else after).
 * `packs`: snapshot → the packs it references, for snapshots of `add_snapshots` only; the vault records them for
 * the snapshots this delta makes live, in the same commit (server/head.ts; docs/vault.md "Deletion by the vault").
 */
export interface HeadDeltaRequest {
  add_snapshots?: string[];
  add_indexes?: string[];
  remove_snapshots?: string[];
  remove_indexes?: string[];
  pending?: boolean;
  packs?: Record<string, string[]>;
}
export interface HeadPostResponse { seq: number; digest: string }
export const HEAD_LISTS = ['add_snapshots', 'add_indexes', 'remove_snapshots', 'remove_indexes'] as const;

/**
 * SHA-256("ebak-vault-head/v1\0" ‖ JSON [account, seq, the six sets sorted]),
 * hex: one value naming a head, quoted by the audit log and checked by the client.
 */
export function headDigest(account: string, h: HeadState): string {
  const sets = [h.snapshots, h.indexes, h.pending_snapshots, h.pending_indexes, h.removed_snapshots, h.removed_indexes].map((l) => [...l].sort());
  return createHash('sha256').update(`ebak-vault-head/v1\0${JSON.stringify([account, h.seq, ...sets])}`, 'utf8').digest('hex');
}

/**
 * GET and POST /v1/retention (docs/vault.md "Retention lock"): the account's
 * lock and holds, when the vault first saw each snapshot of the head, and the
 * vault's clock, which decides.
 */
export interface RetentionResponse {
  lock: RetentionLock | null;
  holds: LegalHold[];
  seen: Record<string, string>;
  now: string;
}
/** One change per request; `step_up` where a change weakens protection (a governance change, a hold removed). */
export type RetentionRequest =
  | { op: 'lock'; mode: LockMode; min_days: number; max_days?: number; changeable_for_days: number; step_up?: string }
  | { op: 'unlock'; step_up?: string }
  | { op: 'hold'; snapshot: string; reason: string }
  | { op: 'release'; snapshot: string; step_up?: string };

// ---- strict readers ----
type Json = Record<string, unknown>;

function bad(message: string): VaultRefusal {
  return new VaultRefusal('bad_request', message);
}

/** Parses a JSON object body; anything else is a bad_request. */
export function parseBody(bytes: Uint8Array): Json {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw bad('the body is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('the body must be a JSON object');
  return v as Json;
}

function only(body: Json, fields: readonly string[]): void {
  for (const k of Object.keys(body)) if (!fields.includes(k)) throw bad(`unknown field ${JSON.stringify(k).slice(0, 40)}`);
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
const ID = /^[0-9a-f]{32}$/;

function str(body: Json, name: string, max: number, pattern?: RegExp): string {
  const v = body[name];
  if (typeof v !== 'string' || v.length === 0 || v.length > max) throw bad(`field "${name}" must be a string of 1..${max} characters`);
  if (pattern && !pattern.test(v)) throw bad(`field "${name}" has invalid characters`);
  return v;
}

export const account = (b: Json) => str(b, 'account', 128, ACCOUNT);
const opaqueMessage = (b: Json, name: string) => str(b, name, 2048, B64URL);
const deviceName = (b: Json) => str(b, 'device', 64, /^[\x20-\x7e]+$/);

const ticket = (b: Json, name: string) => str(b, name, 512, B64URL);

export function readRegisterStart(b: Json): RegisterStartRequest {
  only(b, ['account', 'request', 'invite']);
  return { account: account(b), request: opaqueMessage(b, 'request'), ...('invite' in b ? { invite: str(b, 'invite', 1024, /^[A-Za-z0-9_.-]+$/) } : {}) };
}

export function readRegisterFinish(b: Json): RegisterFinishRequest {
  only(b, ['account', 'record', 'envelope', 'unlock_hash', 'device', 'ticket']);
  return {
    account: account(b), record: opaqueMessage(b, 'record'), envelope: str(b, 'envelope', 512, B64URL),
    unlock_hash: str(b, 'unlock_hash', 64, /^[0-9a-f]{64}$/), device: deviceName(b), ticket: ticket(b, 'ticket'),
  };
}

export function readStepUp(b: Json): StepUpRequest {
  only(b, ['login_id', 'request']);
  return { login_id: str(b, 'login_id', 32, ID), request: opaqueMessage(b, 'request') };
}

export function readLoginStart(b: Json): LoginStartRequest {
  only(b, ['account', 'request']);
  return { account: account(b), request: opaqueMessage(b, 'request') };
}

export function readLoginFinish(b: Json): LoginFinishRequest {
  only(b, ['login_id', 'request', 'device']);
  return { login_id: str(b, 'login_id', 32, ID), request: opaqueMessage(b, 'request'), device: deviceName(b) };
}

export function readDeviceKey(b: Json): DeviceKeyRequest {
  only(b, ['action']);
  const a = str(b, 'action', 16);
  if (a !== 'read' && !ACTIONS.includes(a as Action)) throw bad('field "action" must be read, backup, restore or delete');
  return { action: a as DeviceKeyRequest['action'] };
}

export function readRevoke(b: Json): RevokeRequest {
  only(b, ['device_id', 'step_up']);
  return { device_id: str(b, 'device_id', 32, ID), ...('step_up' in b ? { step_up: ticket(b, 'step_up') } : {}) };
}

export function readUnlock(b: Json): UnlockRequest {
  only(b, ['account', 'unlock_secret']);
  return { account: account(b), unlock_secret: str(b, 'unlock_secret', 64, /^[0-9a-f]{64}$/) };
}

export function readPolicy(b: Json): PolicyRequest {
  only(b, ['policy', 'step_up']);
  const stepUp = ticket(b, 'step_up');
  const p = b.policy;
  if (typeof p !== 'object' || p === null || Array.isArray(p)) throw bad('field "policy" must be an object');
  const q = p as Json;
  only(q, ['retention_floor_days', 'guess_limit', 'lockout', 'session_seconds']);
  const out: Partial<Policy> = {};
  const int = (name: string, min: number, max: number) => {
    const v = q[name];
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) throw bad(`policy.${name} must be an integer ${min}..${max}`);
    return v as number;
  };
  if ('retention_floor_days' in q) out.retention_floor_days = int('retention_floor_days', 0, 36500);
  if ('guess_limit' in q) out.guess_limit = int('guess_limit', 1, 100);
  if ('session_seconds' in q) out.session_seconds = int('session_seconds', 60, 365 * 24 * 3600);
  if ('lockout' in q) {
    if (q.lockout !== 'permanent' && q.lockout !== 'recovery') throw bad('policy.lockout must be permanent or recovery');
    out.lockout = q.lockout;
  }
  return { policy: out, step_up: stepUp };
}

const OBJECT_NAME = /^[0-9a-f]{64}$/;

function nameList(b: Json, field: string): string[] | undefined {
  return field in b ? names(b[field], field) : undefined;
}

/** A list of at most MAX_HEAD_NAMES distinct object names; `field` names it in the refusal. */
function names(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || v.length > MAX_HEAD_NAMES) throw bad(`field "${field}" must be a list of at most ${MAX_HEAD_NAMES} names`);
  if (!v.every((n) => typeof n === 'string' && OBJECT_NAME.test(n))) throw bad(`field "${field}" must hold object names (64 hex digits)`);
  if (new Set(v).size !== v.length) throw bad(`field "${field}" names an object twice`);
  return v as string[];
}

/** A head delta: at least one name; `pending` marks removals as under way and carries no additions. */
export function readHeadDelta(b: Json): HeadDeltaRequest {
  only(b, [...HEAD_LISTS, 'pending', 'packs']);
  const out: HeadDeltaRequest = {};
  for (const field of HEAD_LISTS) {
    const list = nameList(b, field);
    if (list) out[field] = list;
  }
  const count = HEAD_LISTS.reduce((n, f) => n + (out[f]?.length ?? 0), 0);
  if (count === 0) throw bad('a head delta names no object');
  if (count > MAX_HEAD_NAMES) throw bad(`a head delta names at most ${MAX_HEAD_NAMES} objects; send several`);
  if ('pending' in b) {
    if (typeof b.pending !== 'boolean') throw bad('field "pending" must be true or false');
    if (b.pending && (out.add_snapshots?.length || out.add_indexes?.length)) throw bad('a pending delta marks removals only');
    out.pending = b.pending;
  }
  if ('packs' in b) out.packs = readPacks(b.packs, new Set(out.add_snapshots));
  return out;
}

/** A delta's `packs`: an object from snapshots it adds to lists of pack names, MAX_HEAD_NAMES names in all. */
function readPacks(v: unknown, added: ReadonlySet<string>): Record<string, string[]> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('field "packs" must map snapshot ids to lists of pack names');
  const entries = Object.entries(v as Json);
  if (entries.length > MAX_PACKED_SNAPSHOTS) throw bad(`field "packs" gives packs for at most ${MAX_PACKED_SNAPSHOTS} snapshots; send several deltas`);
  const out: Record<string, string[]> = {};
  let count = 0;
  for (const [snapshot, list] of entries) {
    if (!added.has(snapshot)) throw bad(`field "packs" names snapshot ${snapshot.slice(0, 16)}, which this delta does not add`);
    const packs = names(list, `packs.${snapshot.slice(0, 8)}`);
    out[snapshot] = packs;
    count += packs.length;
  }
  if (count > MAX_HEAD_NAMES) throw bad(`field "packs" names at most ${MAX_HEAD_NAMES} packs in all; send several deltas`);
  return out;
}

// ---- write-only devices (docs/vault.md "Write-only devices") ----
export type DeviceKind = 'full' | 'write-only';
/** The client-sealed credential the vault keeps for a write-only device (it cannot open it). */
export const MAX_CREDENTIAL_CHARS = 4096;
/** POST /v1/devices/write-only, by a full device with a step-up grant. */
export interface AddWriteOnlyRequest { device: string; credential: string; step_up: string }
/** `enrollment`: the one-time token (`<account>.<device id>.<secret>`) the new host enrolls with. */
export interface AddWriteOnlyResponse { device: DeviceInfo; enrollment: string }
/** POST /v1/enroll (Authorization: the enrollment token, good once): the device's session and its sealed credential. */
export interface EnrollResponse { account: string; device_id: string; token: string; expires_at: string; credential: string }
/** GET /v1/device/credential: to a write-only device session only. */
export interface CredentialResponse { credential: string }

export function readAddWriteOnly(b: Json): AddWriteOnlyRequest {
  only(b, ['device', 'credential', 'step_up']);
  return { device: deviceName(b), credential: str(b, 'credential', MAX_CREDENTIAL_CHARS, B64URL), step_up: ticket(b, 'step_up') };
}

/**
 * A master-key rotation (docs/vault.md "Master-key rotation"): the account's
 * envelope of the new K, and the link envelopes between it and the keys the
 * rotating client held (each one master key wrapped under another).
 */
export interface RotateRequest { envelope: string; links: string[]; step_up: string }
/** The write-only devices the rotation retired (revoked: their credential is of the old key). */
export interface RotateResponse { retired: DeviceInfo[] }
export const MAX_LINKS = 256;

export function readRotate(b: Json): RotateRequest {
  only(b, ['envelope', 'links', 'step_up']);
  const links = b.links;
  if (!Array.isArray(links) || links.length === 0 || links.length > MAX_LINKS) throw bad(`field "links" must be an array of 1..${MAX_LINKS} envelopes`);
  return { envelope: str(b, 'envelope', 512, B64URL), links: links.map((_, i) => str(links as unknown as Json, String(i), 512, B64URL)), step_up: ticket(b, 'step_up') };
}

/** `POST /v1/device/renew` (a write-only device, body `{}`): its new token and when it expires. */
export interface RenewResponse { token: string; expires_at: string }

/** An enrollment carries nothing in its body: the token says which device. */
export function readEnroll(b: Json): Record<string, never> {
  only(b, []);
  return {};
}

/** A device token: "<account>.<device id>.<secret>" (the secret is 32 random bytes, base64url). */
export function parseToken(header: string | undefined): { account: string; deviceId: string; secret: string } {
  const m = /^Bearer ([A-Za-z0-9][A-Za-z0-9._@-]{0,127})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$/.exec(header ?? '');
  if (!m) throw new VaultRefusal('unauthorized', 'a device token is required (Authorization: Bearer <token>); log in with `ebak login`');
  return { account: m[1]!, deviceId: m[2]!, secret: m[3]! };
}

/** A retention change: `op` says which fields it takes, each checked. */
export function readRetentionChange(b: Json): RetentionRequest {
  const stepUp = 'step_up' in b ? { step_up: ticket(b, 'step_up') } : {};
  const days = (name: string, min: number) => {
    const v = b[name];
    if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > MAX_DAYS) throw bad(`field "${name}" must be an integer ${min}..${MAX_DAYS}`);
    return v as number;
  };
  const snapshot = () => str(b, 'snapshot', 64, OBJECT_NAME);
  switch (b.op) {
    case 'lock': {
      only(b, ['op', 'mode', 'min_days', 'max_days', 'changeable_for_days', 'step_up']);
      if (!LOCK_MODES.includes(b.mode as LockMode)) throw bad('field "mode" must be governance or compliance');
      const max = 'max_days' in b ? { max_days: days('max_days', 1) } : {};
      return { op: 'lock', mode: b.mode as LockMode, min_days: days('min_days', 1), ...max, changeable_for_days: days('changeable_for_days', 0), ...stepUp };
    }
    case 'unlock':
      only(b, ['op', 'step_up']);
      return { op: 'unlock', ...stepUp };
    case 'hold':
      only(b, ['op', 'snapshot', 'reason']);
      return { op: 'hold', snapshot: snapshot(), reason: str(b, 'reason', MAX_REASON) };
    case 'release':
      only(b, ['op', 'snapshot', 'step_up']);
      return { op: 'release', snapshot: snapshot(), ...stepUp };
    default:
      throw bad('field "op" must be lock, unlock, hold or release');
  }
}

/**
 * `POST /v1/drills`: a restore drill's result, for the audit log (type
 * "drill", always: the endpoint writes no other type). Every field typed and
 * bounded; the vault adds the posting device itself.
 */
export interface DrillRecordRequest {
  plan: string;
  /** The snapshot drilled (its id; "" when the plan had none yet). */
  snapshot: string;
  files: number;
  bytes: number;
  ms: number;
  verified: boolean;
  /** The first file that did not restore whole (and why), at most MAX_FIRST_BAD characters. */
  first_bad?: string;
}

export const MAX_FIRST_BAD = 512;

export function readDrillRecord(b: Json): DrillRecordRequest {
  only(b, ['plan', 'snapshot', 'files', 'bytes', 'ms', 'verified', 'first_bad']);
  const count = (name: string) => {
    const v = b[name];
    if (!Number.isSafeInteger(v) || (v as number) < 0) throw bad(`field "${name}" must be a non-negative integer`);
    return v as number;
  };
  if (typeof b.verified !== 'boolean') throw bad('field "verified" must be true or false');
  if (typeof b.snapshot !== 'string' || !/^([0-9a-f]{64})?$/.test(b.snapshot)) throw bad('field "snapshot" must be a snapshot id (64 hex digits) or ""');
  return {
    plan: str(b, 'plan', 64, /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/), snapshot: b.snapshot, files: count('files'), bytes: count('bytes'), ms: count('ms'), verified: b.verified,
    ...('first_bad' in b ? { first_bad: str(b, 'first_bad', MAX_FIRST_BAD, /^[^\x00-\x1f\x7f]+$/) } : {}),
  };
}

// ---- deletion by the vault (docs/retention.md "Vault mode: the vault deletes") ----
/** `POST /v1/delete`: snapshot objects and data packs for the vault to delete with the credential it holds. */
export interface DeleteRequest { snapshots?: string[]; packs?: string[] }
/** What was deleted (all of it: a refusal deletes nothing). */
export interface DeleteResponse { snapshots: number; packs: number }
/**
 * `GET /v1/delete`: whether the vault holds this repository's delete credential (else the client deletes itself),
 * the packs it refuses to delete now (protected snapshots' records), and whether it refuses every pack (a protected
 * snapshot has no record).
 */
export interface DeleteStatus { enabled: boolean; pinned: string[]; pinned_all: boolean }
/** `POST /v1/snapshot-packs`: the data packs a snapshot references, recorded once by the device that backed it up. */
export interface SnapshotPacksRequest { snapshot: string; packs: string[] }
export const DELETE_LISTS = ['snapshots', 'packs'] as const;

export function readDeleteRequest(b: Json): DeleteRequest {
  only(b, [...DELETE_LISTS]);
  const out: DeleteRequest = {};
  for (const field of DELETE_LISTS) {
    const list = nameList(b, field);
    if (list) out[field] = list;
  }
  const count = (out.snapshots?.length ?? 0) + (out.packs?.length ?? 0);
  if (count === 0) throw bad('a deletion names no object');
  if (count > MAX_HEAD_NAMES) throw bad(`a deletion names at most ${MAX_HEAD_NAMES} objects; send several`);
  return out;
}

export function readSnapshotPacks(b: Json): SnapshotPacksRequest {
  only(b, ['snapshot', 'packs']);
  return { snapshot: str(b, 'snapshot', 64, OBJECT_NAME), packs: nameList(b, 'packs') ?? [] };
}
