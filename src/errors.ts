/**
 * Typed errors for the whole program. Every failure a user can act on is an
 * EbakError with a stable `code`; tests assert the code, never the text.
 * The CLI maps codes to exit codes in exactly one place (src/cli/exit.ts).
 */
export type ErrorCode =
  | 'USAGE' // bad command line
  | 'NOT_FOUND' // a storage object, snapshot or path does not exist
  | 'NO_REPOSITORY' // the repository location holds no ebak repository
  | 'ALREADY_EXISTS' // init over an existing repository
  | 'WRONG_KEY' // no key envelope opens with the given password / recovery key
  | 'AUTH_FAILED' // an object failed authentication (tampered or corrupted)
  | 'CORRUPT' // an object authenticated but its contents are invalid
  | 'UNSUPPORTED_VERSION' // a format version this build does not know
  | 'LOCKED' // the repository is locked by another process
  | 'UNSAFE_PATH' // restore refused a name or link that would escape the target
  | 'NO_SPACE' // the disk is full
  | 'IO' // any other local I/O failure
  | 'STORAGE' // a storage backend failed after its retries
  | 'HSM' // the hardware security module failed or refused
  | 'ATTESTATION' // an attestation document failed verification
  | 'VAULT' // the key vault refused or failed
  | 'NOT_IMPLEMENTED' // a feature this build does not have
  | 'CANCELLED'; // the operation was cancelled (SIGINT, an aborted AbortSignal)

export class EbakError extends Error {
  readonly code: ErrorCode;
  /** Optional second line telling the user what to do. */
  readonly hint?: string;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EbakError';
    this.code = code;
    if (options?.hint !== undefined) this.hint = options.hint;
  }
}

export function isEbakError(e: unknown, code?: ErrorCode): e is EbakError {
  return e instanceof EbakError && (code === undefined || e.code === code);
}
