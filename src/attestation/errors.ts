import { EbakError } from '../errors.js';

/**
 * The checks a document goes through, in the order the verifier runs them
 * (docs/attestation.md). Tests assert `check`, never the message text.
 */
export type AttestationCheck =
  | 'cose' // COSE_Sign1 envelope malformed, or not ES384
  | 'payload' // attestation document fields malformed, missing, unknown, wrong size
  | 'root' // the bundle's root is not the pinned root
  | 'chain' // a certificate is malformed, mis-linked, not a CA, or its signature fails
  | 'validity' // a certificate is not valid at the document's time or at `at`
  | 'signature' // the COSE signature does not verify with the leaf key
  | 'debug' // PCR0/1/2 all zero: a debug-mode enclave, refused unless allowed
  | 'pcr' // a PCR differs from the pinned value
  | 'nonce' // the nonce differs from the one sent
  | 'freshness'; // the document is too old or from the future

/** An EbakError('ATTESTATION') that also names the failed check. */
export class AttestationError extends EbakError {
  readonly check: AttestationCheck;

  constructor(check: AttestationCheck, detail: string, options?: { cause?: unknown; hint?: string }) {
    super('ATTESTATION', `attestation ${check} check failed: ${detail}`, options);
    this.check = check;
  }
}

/** Throws AttestationError(check, detail) unless `ok`. */
export function ensure(ok: boolean, check: AttestationCheck, detail: string): asserts ok {
  if (!ok) throw new AttestationError(check, detail);
}
