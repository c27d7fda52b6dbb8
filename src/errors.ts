/**
 * Typed errors for the whole program. Every failure a user can act on is an
 * EbakError with a stable `code`; tests assert the code, never the text.
 * The CLI maps codes to exit codes in exactly one place (src/cli/exit.ts).
 *
 * One hierarchy (as jose's src/util/errors.ts): layers that need more detail
 * subclass EbakError and keep a code from this union, e.g. AttestationError
 * (src/attestation/errors.ts: which check failed) and VaultError
 * (src/vault/client/transport.ts: the vault's own code, tries left). The
 * vault server's VaultRefusal is a wire-protocol value, not a program error.
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
  | 'STORAGE_UNREACHABLE' // the storage endpoint could not be reached (refused, no route, no DNS name, timed out)
  | 'HSM' // the hardware security module failed or refused
  | 'ATTESTATION' // an attestation document failed verification
  | 'VAULT' // the key vault failed or could not be reached
  | 'VAULT_REFUSED' // the key vault answered with a refusal (not authorized, revoked, policy, rate limit, ...)
  | 'ACCOUNT_LOCKED' // the vault account reached its guess limit; no more guesses are evaluated
  | 'CANCELLED' // the operation was cancelled (an AbortSignal fired)
  | 'WRITE_ONLY' // the credential may only add backups: reading, deleting and key changes are refused
  | 'RETENTION' // a retention lock or legal hold refuses it (a protected snapshot named, a frozen compliance lock changed)
  | 'ROLLBACK' // the storage is older than the vault's repository head (a snapshot missing, an old index replayed, the store rolled back)
  | 'INTERRUPTED' // Ctrl-C (SIGINT) or SIGTERM: the operation stopped cleanly, its locks released
  | 'NOT_IMPLEMENTED'; // a feature this build does not have

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
