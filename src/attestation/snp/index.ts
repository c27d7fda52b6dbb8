/**
 * AMD SEV-SNP: owns the attestation report format (report.ts), the products
 * and their TCB layouts and pinned roots (product.ts), the VCEK/VLEK → ASK →
 * ARK hierarchy and AMD's certificate extensions (certs.ts), and the offline
 * verifier (verify.ts); the simulated platform: a development ARK → ASK →
 * VCEK chain (devchain.ts) and signed reports (simulate.ts); and ebak's
 * evidence envelope binding a vault's TLS key (evidence.ts).
 * docs/attestation.md ("SEV-SNP") lists every check.
 */
export { parseSnpReport, REPORT_SIZE, SIGNED_SIZE, OFFSET, SUPPORTED_VERSIONS, type SnpReport, type SigningKey } from './report.js';
export { AMD_ARK_SHA256, decodeTcb, formatTcb, parseTcb, PRODUCTS, type Product, type Tcb } from './product.js';
export { AMD_OID, verifySnpChain, keyExtensions, type SnpKeyChain } from './certs.js';
export { verifySnpReport, POLICY, type SnpVerifyOptions, type VerifiedSnpReport } from './verify.js';
export { snpReportToJson } from './json.js';
export { createDevSnpChain, issueVcek, saveDevSnpChain, loadDevSnpChain, DEV_TCB, type DevSnpChain, type DevSnpChainOptions } from './devchain.js';
export { SimulatedSnp, signSnpReport, snpLaunchMeasurement, DEFAULT_POLICY, type SimulatedSnpOptions } from './simulate.js';
export { SNP_EVIDENCE_MAGIC, SNP_EVIDENCE_TYPE, SNP_EVIDENCE_VERSION, encodeSnpEvidence, parseSnpEvidence, snpReportData, verifySnpEvidence, type SnpEvidence, type SnpEvidenceOptions } from './evidence.js';
