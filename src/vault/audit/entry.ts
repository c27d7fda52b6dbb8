/**
 * Audit entry format v1 (docs/vault.md "Audit log"), shared by the writer
 * (log.ts) and the verifier (verify.ts).
 *
 * body  = JSON with keys in this order: v (1), seq, time (ISO-8601), type,
 *         account (string|null), detail (object|null), prev (hex SHA-256 of the
 *         previous entry's hash input, 64 zeros for seq 1)
 * hash  = SHA-256("ebak-vault-audit/v1\0" ‖ body)
 * sig   = Ed25519(signing key, hash)
 * stored entry = JSON {"body": <body as a string>, "hash": hex, "sig": base64}
 *
 * A "boot" entry carries the new signing key (SPKI DER, base64) and an
 * attestation document whose user_data is auditKeyBinding(that key): so
 * every key that signs entries is one an attested vault generated.
 */
import { createHash } from 'node:crypto';

export const AUDIT_FORMAT = 1;
export const GENESIS = '0'.repeat(64);

export type AuditType =
  | 'boot' | 'register' | 'login.attempt' | 'login.ok' | 'login.fail' | 'lockout' | 'unlock'
  | 'key.release' | 'key.rotate' | 'device.add' | 'device.enroll' | 'device.revoke' | 'device.renew' | 'policy.change' | 'step-up' | 'head.update' | 'drill' | 'admin' | `hsm.${string}` | `retention.${string}`;

export interface AuditBody {
  v: number;
  seq: number;
  time: string;
  type: AuditType;
  account: string | null;
  detail: Record<string, unknown> | null;
  prev: string;
}

export interface StoredEntry {
  body: string;
  hash: string;
  sig: string;
}

export function encodeBody(b: AuditBody): string {
  return JSON.stringify({ v: b.v, seq: b.seq, time: b.time, type: b.type, account: b.account, detail: b.detail, prev: b.prev });
}

export function entryHash(body: string): Buffer {
  return createHash('sha256').update('ebak-vault-audit/v1\0').update(body, 'utf8').digest();
}

/**
 * What the enclave signs when it states its audit head (GET /v1/audit/head):
 * "ebak-vault-audit-head/v1\0" ‖ JSON {seq, hash, time}, Ed25519 under the
 * current boot's key.
 */
export function headMessage(h: { seq: number; hash: string; time: string }): Buffer {
  return Buffer.from(`ebak-vault-audit-head/v1\0${JSON.stringify({ seq: h.seq, hash: h.hash, time: h.time })}`, 'utf8');
}

/** What a boot entry's attestation user_data must be for signing key `spki`. */
export function auditKeyBinding(spki: Uint8Array): Buffer {
  return createHash('sha256').update('ebak-vault-audit-key/v1\0').update(spki).digest();
}
