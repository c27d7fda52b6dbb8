/**
 * The operator's credentials toward the vault: an Ed25519 key pair whose
 * public half the vault is started with (`vault serve --operator-key`).
 * It authorises registrations (invitations) and operator-only reads
 * (`/v1/operator/status`, `/v1/audit/head`); it grants nothing over existing
 * accounts, so a host that swaps the public key can mint invitations (use up
 * the registration quota) and read counts, nothing else (docs/security.md).
 *
 * Invitation v1: base64url(JSON {v:1, id: 32 hex, uses, exp: ms}) "." base64url(sig),
 *   sig = Ed25519(operator key, "ebak-vault-invite/v1\0" ‖ the first part).
 * Operator request: header `Authorization: EbakOperator <ms>.<base64url sig>`,
 *   sig = Ed25519(operator key, "ebak-vault-operator/v1\0" ‖ METHOD " " path-and-query "\0" ‖ ms),
 *   accepted within 5 minutes of the vault's clock (read-only endpoints only).
 */
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { EbakError } from '../errors.js';

export interface Invitation {
  id: string;
  uses: number;
  /** Expiry, ms since the epoch. */
  exp: number;
}

const INVITE_LABEL = 'ebak-vault-invite/v1\0';
const REQUEST_LABEL = 'ebak-vault-operator/v1\0';
export const OPERATOR_SKEW_MS = 5 * 60 * 1000;

export function operatorPublicKey(pem: string): KeyObject {
  return ed25519(() => createPublicKey(pem), 'the operator public key is not an Ed25519 public key in PEM');
}

export function operatorPrivateKey(pem: string): KeyObject {
  return ed25519(() => createPrivateKey(pem), 'the operator key file is not an Ed25519 private key in PEM');
}

/** The key `load` makes, when it loads and is Ed25519; otherwise a USAGE error saying `what`. */
function ed25519(load: () => KeyObject, what: string): KeyObject {
  try {
    const key = load();
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`);
    return key;
  } catch (e) {
    throw new EbakError('USAGE', `${what} (${(e as Error).message})`, { cause: e });
  }
}

export function createInvitation(key: KeyObject, uses: number, exp: number): string {
  const body = Buffer.from(JSON.stringify({ v: 1, id: randomBytes(16).toString('hex'), uses, exp }), 'utf8').toString('base64url');
  return `${body}.${sign(null, Buffer.from(INVITE_LABEL + body, 'utf8'), key).toString('base64url')}`;
}

/** The invitation if `token` is signed by `key` and well-formed (expiry is the caller's check). */
export function readInvitation(key: KeyObject, token: string): Invitation | undefined {
  const [body, sig, extra] = token.split('.');
  if (!body || !sig || extra !== undefined) return undefined;
  if (!verify(null, Buffer.from(INVITE_LABEL + body, 'utf8'), key, Buffer.from(sig, 'base64url'))) return undefined;
  try {
    const v = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (v.v !== 1 || typeof v.id !== 'string' || !/^[0-9a-f]{32}$/.test(v.id)) return undefined;
    if (!Number.isSafeInteger(v.uses) || (v.uses as number) < 1 || !Number.isSafeInteger(v.exp)) return undefined;
    return { id: v.id, uses: v.uses as number, exp: v.exp as number };
  } catch {
    return undefined;
  }
}

function requestMessage(method: string, pathAndQuery: string, ms: number): Buffer {
  return Buffer.from(`${REQUEST_LABEL}${method} ${pathAndQuery}\0${ms}`, 'utf8');
}

export function operatorAuthorization(key: KeyObject, method: string, pathAndQuery: string, now: Date = new Date()): string {
  const ms = now.getTime();
  return `EbakOperator ${ms}.${sign(null, requestMessage(method, pathAndQuery, ms), key).toString('base64url')}`;
}

/** True when `header` is a fresh operator signature over this request. */
export function checkOperatorAuthorization(key: KeyObject, header: string | undefined, method: string, pathAndQuery: string, now: Date): boolean {
  const m = /^EbakOperator (\d{1,16})\.([A-Za-z0-9_-]{86})$/.exec(header ?? '');
  if (!m) return false;
  const ms = Number(m[1]);
  if (Math.abs(now.getTime() - ms) > OPERATOR_SKEW_MS) return false;
  return verify(null, requestMessage(method, pathAndQuery, ms), key, Buffer.from(m[2]!, 'base64url'));
}
