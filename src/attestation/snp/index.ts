/**
 * AMD SEV-SNP: owns the attestation report format (report.ts), the products
 * and their TCB layouts and pinned roots (product.ts), the VCEK/VLEK → ASK →
 * ARK hierarchy and AMD's certificate extensions (certs.ts), and the offline
 * verifier (verify.ts). docs/attestation.md ("SEV-SNP") lists every check.
 */
export { parseSnpReport, REPORT_SIZE, SIGNED_SIZE, OFFSET, SUPPORTED_VERSIONS, type SnpReport, type SigningKey } from './report.js';
export { AMD_ARK_SHA256, decodeTcb, formatTcb, PRODUCTS, type Product, type Tcb } from './product.js';
export { AMD_OID, verifySnpChain, keyExtensions, type SnpKeyChain } from './certs.js';
export { verifySnpReport, POLICY, type SnpVerifyOptions, type VerifiedSnpReport } from './verify.js';
export { snpReportToJson } from './json.js';
