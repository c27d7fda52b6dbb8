/**
 * The one map from error codes to exit codes (documented in README.md,
 * "Exit codes", which test/structure/exit-codes.test.ts keeps equal to it).
 * restic's numbers where restic has one (0, 1, 3, 10, 11, 12, and 130 for
 * Ctrl-C); ebak's own from 20 up, clear of restic's.
 */
import type { ErrorCode } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
/** The snapshot was made, but some source files could not be read. */
export const EXIT_PARTIAL = 3;

/** Every error code with an exit code of its own; any other error exits 1. */
export const EXITS: readonly { readonly code: ErrorCode; readonly exit: number; readonly meaning: string }[] = [
  { code: 'NO_REPOSITORY', exit: 10, meaning: 'no repository' },
  { code: 'LOCKED', exit: 11, meaning: 'repository locked' },
  { code: 'WRONG_KEY', exit: 12, meaning: 'wrong password or recovery key' },
  { code: 'VAULT_REFUSED', exit: 20, meaning: 'vault refused' },
  { code: 'ACCOUNT_LOCKED', exit: 21, meaning: 'vault account locked' },
  { code: 'ATTESTATION', exit: 22, meaning: 'attestation failed' },
  { code: 'STORAGE_UNREACHABLE', exit: 23, meaning: 'storage unreachable' },
  { code: 'CANCELLED', exit: 24, meaning: 'cancelled' },
  { code: 'WRITE_ONLY', exit: 25, meaning: 'credential is write-only' },
  { code: 'ROLLBACK', exit: 26, meaning: 'storage rolled back (older than the repository head)' },
  { code: 'INTERRUPTED', exit: 130, meaning: 'interrupted (Ctrl-C)' },
];

const BY_CODE = new Map<ErrorCode, number>(EXITS.map((e) => [e.code, e.exit]));

export function exitCodeFor(code: ErrorCode | undefined): number {
  return (code && BY_CODE.get(code)) ?? EXIT_FATAL;
}

/** The exit codes for `ebak --help`, wrapped to lines of at most `width`. */
/** Every exit code and its meaning, in order (help, man page). */
export function exitCodes(): [number, string][] {
  return [[0, 'ok'], [1, 'error'], [EXIT_PARTIAL, 'snapshot made but some files unreadable (or restore incomplete)'], ...EXITS.map((e): [number, string] => [e.exit, e.meaning])];
}

export function exitHelp(width = 100): string[] {
  const items = exitCodes().map(([code, meaning]) => `${code} ${meaning}`);
  const lines = ['exit codes:'];
  for (const [i, item] of items.entries()) {
    const text = `${item}${i < items.length - 1 ? ',' : ''}`;
    if (lines[lines.length - 1]!.length + 1 + text.length > width) lines.push(' '.repeat('exit codes:'.length));
    lines[lines.length - 1] += ` ${text}`;
  }
  return lines;
}
