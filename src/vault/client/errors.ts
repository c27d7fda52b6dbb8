/**
 * The client's error for a vault refusal, apart from the attested channel
 * (transport.ts) so that code which only reads a refusal (the head checks
 * every command makes) does not load attestation and X.509 parsing: a
 * local-mode command starts ~0.3 s faster without them.
 */
import { EbakError, type ErrorCode } from '../../errors.js';

/**
 * A vault refusal, as the client sees it: the vault's own code, and as the
 * ErrorCode ACCOUNT_LOCKED for a reached guess limit, VAULT for the vault's
 * own failure (`internal`), RETENTION for a retention lock's or legal hold's
 * refusal (exit 1, as the same refusal in local mode), VAULT_REFUSED for
 * every other refusal.
 */
export class VaultError extends EbakError {
  /** Seconds a `rate_limited` refusal says to wait before trying again. */
  retryAfter?: number;

  constructor(readonly vaultCode: string, message: string, readonly triesLeft?: number, hint?: string) {
    super(CODES.get(vaultCode) ?? 'VAULT_REFUSED', message, hint === undefined ? undefined : { hint });
  }
}

const CODES = new Map<string, ErrorCode>([['locked', 'ACCOUNT_LOCKED'], ['internal', 'VAULT'], ['retention', 'RETENTION']]);
