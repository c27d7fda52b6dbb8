/**
 * Attestation: SEV-SNP reports (snp/: also a simulated SNP platform and the
 * vault's SNP evidence) and TPM 2.0 quotes (tpm/), each with
 * its own parser and offline verifier, beside the AWS Nitro Enclaves
 * attestation document — its strict
 * parser and encoder (document.ts), the client-side verifier (verify.ts:
 * COSE ES384 signature, chain to a pinned root, PCRs, nonce, freshness, the
 * debug rule), the pinned roots (roots.ts), and the simulated platform used in
 * development and tests (devca.ts, simulate.ts). The wire format and every
 * check are described in docs/attestation.md.
 */
export { AttestationError, type AttestationCheck } from './errors.js';
export { parseCoseSign1, parseDocument, encodeDocument, encodeCoseSign1, type AttestationDocument, type CoseSign1 } from './document.js';
export { verifyAttestation, isDebug, DEFAULT_MAX_AGE_SECONDS, DEFAULT_MAX_SKEW_SECONDS, type VerifyOptions } from './verify.js';
export { awsNitroRootG1, loadRoot, AWS_NITRO_ROOT_G1_SHA256 } from './roots.js';
export { createDevCa, issueLeaf, saveDevCa, loadDevCa, type DevCa, type Leaf } from './devca.js';
export { SimulatedNsm, measure, signPayload, type Measurements, type AttestRequest, type SimulatedNsmOptions } from './simulate.js';
export { documentToJson } from './json.js';
export * from './snp/index.js';
export * from './tpm/index.js';
