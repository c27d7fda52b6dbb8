import { EbakError } from '../errors.js';

/**
 * The checks a document goes through, in the order the verifiers run them
 * (docs/attestation.md: Nitro, SEV-SNP, TPM). Tests assert `check`, never the
 * message text.
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
  | 'freshness' // the document is too old or from the future
  | 'platform' // the vault attests with a platform (nitro, sev-snp) the client does not accept
  // SEV-SNP reports (src/attestation/snp)
  | 'report' // SNP report length, version or a reserved value wrong
  | 'algorithm' // the report's signature algorithm is not ECDSA P-384/SHA-384
  | 'product' // the report's product (Milan, Genoa, Turin) differs from the chain's or the key's
  | 'key' // the VCEK/VLEK is not the report's kind, or its chip id or TCB differs from the report's
  | 'policy' // guest policy: migration agent, SMT or ABI version not as pinned
  | 'tcb' // reported TCB below the minimum
  | 'measurement' // launch measurement differs from the expected one
  | 'report-data' // report_data differs from the expected binding
  // TPM 2.0 quotes (src/attestation/tpm)
  | 'quote' // TPMS_ATTEST or its signature structure malformed, or not a quote
  | 'event-log'; // the event log is malformed or its replay differs from the quoted PCRs

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
