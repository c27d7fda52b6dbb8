/**
 * The one map from error codes to exit codes (documented in README.md,
 * "Exit codes"; restic's numbers where restic has one).
 */
import type { ErrorCode } from '../errors.js';

export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
/** The snapshot was made, but some source files could not be read. */
export const EXIT_PARTIAL = 3;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  NO_REPOSITORY: 10,
  LOCKED: 11,
  WRONG_KEY: 12,
};

export function exitCodeFor(code: ErrorCode | undefined): number {
  return (code && BY_CODE[code]) ?? EXIT_FATAL;
}
