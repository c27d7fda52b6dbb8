/**
 * Shared by test/vectors/make-keyfile-vault.ts (which writes
 * keyfile-vault.json) and keyfile-vault.test.ts (which checks it): the
 * vectors' shape, the JSON edits their mutations make and what a reader
 * makes of a key file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isEbakError } from '../../src/errors.js';
import { parseKeyFile, unwrapKeyFile } from '../../src/repository/format/keyfile.js';

export const FILE = join(import.meta.dirname, '../../../test/vectors/keyfile-vault.json');
/** The vectors' K and recovery code. */
export const K = Buffer.from([...Array(32).keys()]);
export const CODE = '0123456789'.repeat(6) + '0123';

/** A key-file edit: a top-level field set to a value, or removed (`value` absent). */
export interface Mutation { name: string; field: string; value?: unknown; expect: string }

export interface KeyFileVaultVectors {
  comment: string;
  key: string;
  recovery_code: string;
  /** A version 3 recovery key file (its text exactly as stored), its AAD, and the version 1 file of an earlier build with the same fields. */
  v3: { text: string; aad: string };
  v1_with_vault: { text: string };
  mutations: Mutation[];
}

export function mutate(text: string, m: Mutation): string {
  const f = JSON.parse(text) as Record<string, unknown>;
  if ('value' in m) f[m.field] = m.value;
  else delete f[m.field];
  return JSON.stringify(f, null, 2);
}

/** "ok" when the text opens to K with the code; "does not open"; else the refusal's code. */
export async function outcome(text: string): Promise<string> {
  try {
    const opened = await unwrapKeyFile(parseKeyFile(Buffer.from(text), 'vector'), CODE, 'vector');
    if (!opened) return 'does not open';
    return opened.equals(K) ? 'ok' : 'wrong key';
  } catch (e) {
    if (isEbakError(e)) return e.code;
    throw e;
  }
}

export const load = () => JSON.parse(readFileSync(FILE, 'utf8')) as KeyFileVaultVectors;
