/**
 * TPM 2.0 quotes from vTPMs (GCP Confidential VMs, AWS NitroTPM, Azure CVMs):
 * owns the TPMS_ATTEST parser (attest.ts), the quote signature shapes
 * (signature.ts), the TCG crypto-agile event log and its replay (eventlog.ts)
 * and the offline verifier (verify.ts). docs/attestation.md ("TPM 2.0 quotes")
 * lists every check.
 */
export { parseTpmsAttest, looksLikeTpmsAttest, TPM_GENERATED, TPM_ST_ATTEST_QUOTE, type TpmQuote, type PcrSelection } from './attest.js';
export { parseQuoteSignature, verifyQuoteSignature, type QuoteSignature } from './signature.js';
export { parseEventLog, replay, type LogEvent } from './eventlog.js';
export { verifyTpmQuote, type TpmVerifyOptions, type VerifiedTpmQuote } from './verify.js';
export { tpmQuoteToJson } from './json.js';
