/**
 * Loading a PKCS#11 module, finding a token by label, logging in, and turning
 * Cryptoki return codes into one-line EbakErrors that name the fix. A module
 * is C_Initialize'd once per process, with OS locking (the session pool's
 * worker threads call it at once, pool.ts), and finalized when the main
 * thread's last user closes (Cryptoki state is per process, not per handle
 * or thread: a worker only closes its session).
 */
import { existsSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import pkcs11js from 'pkcs11js';
import { EbakError } from '../../errors.js';

/** Which token to open and how to log in (the provider's whole configuration). */
export interface Pkcs11Config {
  /** Path of the PKCS#11 library (SoftHSM2, CloudHSM). */
  readonly module: string;
  /** Token label. */
  readonly token: string;
  /** User PIN (CloudHSM: "<crypto user>:<password>"). */
  readonly pin: string;
}

export type P11 = pkcs11js.PKCS11;
export type Handle = pkcs11js.Handle;
export { pkcs11js as ck };

interface Loaded {
  readonly p11: P11;
  refs: number;
}
const loaded = new Map<string, Loaded>();

/** The Cryptoki return code of a pkcs11js error, or undefined for other errors. */
export function ckr(e: unknown): number | undefined {
  if (!(e instanceof Error)) return undefined;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'number' && code !== 0) return code;
  // Some pkcs11js calls (C_CreateObject) throw a plain Error "CKR_NAME:code".
  const m = /CKR_[A-Z_]+:(\d+)/.exec(e.message);
  return m === null ? undefined : Number(m[1]);
}

export function ckrName(e: unknown): string {
  const code = ckr(e);
  if (code === undefined) return e instanceof Error ? e.message : String(e);
  const name = Object.keys(pkcs11js).find((k) => k.startsWith('CKR_') && (pkcs11js as unknown as Record<string, unknown>)[k] === code);
  return name ?? `CKR 0x${code.toString(16)}`;
}

/** Wraps a failed Cryptoki call as EbakError('HSM'). */
export function hsmError(action: string, e: unknown, hint?: string): EbakError {
  return new EbakError('HSM', `HSM ${action} failed: ${ckrName(e)}${hint === undefined ? '' : `; ${hint}`}`, { cause: e });
}

export function acquireModule(path: string): P11 {
  const have = loaded.get(path);
  if (have !== undefined) {
    have.refs++;
    return have.p11;
  }
  if (!existsSync(path)) {
    throw new EbakError('HSM', `PKCS#11 module ${path} does not exist; install it (Debian: apt-get install softhsm2) or pass --module / set EBAK_HSM_MODULE`);
  }
  const p11 = new pkcs11js.PKCS11();
  try {
    p11.load(path);
  } catch (e) {
    throw new EbakError('HSM', `cannot load PKCS#11 module ${path} (${ckrName(e)}); pass the path of a PKCS#11 library with --module / EBAK_HSM_MODULE`, { cause: e });
  }
  try {
    p11.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  } catch (e) {
    if (ckr(e) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      p11.close();
      throw hsmError(`initialising module ${path}`, e, 'check the module configuration (SoftHSM: SOFTHSM2_CONF)');
    }
  }
  loaded.set(path, { p11, refs: 1 });
  return p11;
}

export function releaseModule(path: string): void {
  const have = loaded.get(path);
  if (have === undefined || --have.refs > 0) return;
  loaded.delete(path);
  if (!isMainThread) return;
  try {
    have.p11.C_Finalize();
  } finally {
    have.p11.close();
  }
}

export function findSlot(p11: P11, module: string, label: string): Handle {
  for (const slot of p11.C_GetSlotList(true)) {
    if (p11.C_GetTokenInfo(slot).label.trimEnd() === label) return slot;
  }
  throw new EbakError('HSM', `no HSM token labelled "${label}" in ${module}; create it (SoftHSM: softhsm2-util --init-token --free --label ${label}) or pass --token / set EBAK_HSM_TOKEN`);
}

export type UserType = 'user' | 'so';

export function openSession(p11: P11, slot: Handle, label: string, who: UserType, pin: string): Handle {
  const session = p11.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
  try {
    p11.C_Login(session, who === 'so' ? pkcs11js.CKU_SO : pkcs11js.CKU_USER, pin);
  } catch (e) {
    const code = ckr(e);
    if (code === pkcs11js.CKR_USER_ALREADY_LOGGED_IN) return session;
    p11.C_CloseSession(session);
    const pinSource = who === 'so' ? '--so-pin-file' : 'EBAK_HSM_PIN or --pin-file';
    if (code === pkcs11js.CKR_PIN_INCORRECT) throw new EbakError('HSM', `wrong ${who === 'so' ? 'SO ' : ''}PIN for HSM token "${label}"; check ${pinSource} (repeated failures lock the token)`, { cause: e });
    if (code === pkcs11js.CKR_PIN_LOCKED) throw new EbakError('HSM', `the PIN of HSM token "${label}" is locked; the token's security officer must reset it`, { cause: e });
    if (code === pkcs11js.CKR_USER_ANOTHER_ALREADY_LOGGED_IN) throw new EbakError('HSM', `another user is logged in to HSM token "${label}" in this process; close it first`, { cause: e });
    throw hsmError(`login to token "${label}"`, e, `check ${pinSource}`);
  }
  return session;
}

const MECHANISM_HINT = 'use a token that supports it (SoftHSM2 >= 2.6, AWS CloudHSM) or enable it in the token configuration';

export function requireMechanisms(p11: P11, slot: Handle, label: string, names: readonly string[]): void {
  const have = new Set(p11.C_GetMechanismList(slot));
  for (const name of names) {
    const code = (pkcs11js as unknown as Record<string, number>)[name];
    if (code === undefined || !have.has(code)) {
      throw new EbakError('HSM', `HSM token "${label}" does not support ${name}; ${MECHANISM_HINT}`);
    }
  }
}
