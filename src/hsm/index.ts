/**
 * ebak's HSM layer: the vault's only route to long-term key material.
 * It owns the Hsm interface (hsm.ts), the PKCS#11 provider for SoftHSM2 and
 * AWS CloudHSM (pkcs11.ts, pkcs11/), key
 * version lifecycle rules (lifecycle.ts), the key blob format (blob.ts), HSM
 * backup/restore (backup.ts) and the vault's sealing helper (seal.ts).
 * docs/hsm.md is the reference.
 */
import { readFileSync } from 'node:fs';
import { EbakError } from '../errors.js';
import type { Pkcs11Config } from './pkcs11.js';
import './pkcs11/worker.js'; // in the measured import closure (src/vault/measure.ts): the code the session pool's workers run

export * from './hsm.js';
export { installClusterKey } from './backup.js';
export type { ClusterKeyTarget } from './backup.js';
export { Pkcs11Hsm } from './pkcs11.js';
export type { Pkcs11Config } from './pkcs11.js';
export { encodeRecordAad, seal, unseal } from './seal.js';
export type { RecordAad, SealOptions } from './seal.js';

export const DEFAULT_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

/** The token to open, as the CLI gathered it from flags and environment (src/config). */
export interface Pkcs11Options {
  readonly module?: string | undefined;
  readonly token?: string | undefined;
  /** A file whose first line is the PIN; wins over `pin`. */
  readonly pinFile?: string | undefined;
  readonly pin?: string | undefined;
}

/** Reads a PIN file: first line, trailing whitespace dropped. */
export function readPinFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n')[0]!.trimEnd();
  } catch (e) {
    throw new EbakError('HSM', `cannot read PIN file ${path}; check the path and its permissions`, { cause: e });
  }
}

/** The PKCS#11 configuration of `o`: the module defaults to SoftHSM's, a token and a PIN are required. */
export function pkcs11ConfigFrom(o: Pkcs11Options): Pkcs11Config {
  const module = o.module ?? DEFAULT_MODULE;
  const token = o.token;
  if (token === undefined || token === '') throw new EbakError('USAGE', 'no HSM token given; pass --token <label> or set EBAK_HSM_TOKEN');
  const pin = o.pinFile !== undefined ? readPinFile(o.pinFile) : o.pin;
  if (pin === undefined || pin === '') throw new EbakError('USAGE', 'no HSM PIN given; set EBAK_HSM_PIN or pass --pin-file <file>');
  return { module, token, pin };
}
