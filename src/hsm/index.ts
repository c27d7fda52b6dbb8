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

export * from './hsm.js';
export { installClusterKey } from './backup.js';
export type { ClusterKeyTarget } from './backup.js';
export { Pkcs11Hsm } from './pkcs11.js';
export type { Pkcs11Config } from './pkcs11.js';
export { encodeRecordAad, seal, unseal } from './seal.js';
export type { RecordAad, SealOptions } from './seal.js';

export const DEFAULT_MODULE = '/usr/lib/softhsm/libsofthsm2.so';

export interface Pkcs11Flags {
  readonly module?: string | undefined;
  readonly token?: string | undefined;
  readonly pinFile?: string | undefined;
}

/** Reads a PIN file: first line, trailing whitespace dropped. */
export function readPinFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').split('\n')[0]!.trimEnd();
  } catch (e) {
    throw new EbakError('HSM', `cannot read PIN file ${path}; check the path and its permissions`, { cause: e });
  }
}

/** Flags win over environment: --module/EBAK_HSM_MODULE, --token/EBAK_HSM_TOKEN, --pin-file/EBAK_HSM_PIN. */
export function pkcs11ConfigFrom(flags: Pkcs11Flags, env: NodeJS.ProcessEnv): Pkcs11Config {
  const module = flags.module ?? env.EBAK_HSM_MODULE ?? DEFAULT_MODULE;
  const token = flags.token ?? env.EBAK_HSM_TOKEN;
  if (token === undefined || token === '') throw new EbakError('USAGE', 'no HSM token given; pass --token <label> or set EBAK_HSM_TOKEN');
  const pin = flags.pinFile !== undefined ? readPinFile(flags.pinFile) : env.EBAK_HSM_PIN;
  if (pin === undefined || pin === '') throw new EbakError('USAGE', 'no HSM PIN given; set EBAK_HSM_PIN or pass --pin-file <file>');
  return { module, token, pin };
}
