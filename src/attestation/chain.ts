/**
 * Certificate chain checks: leaf → cabundle → pinned root, with node:crypto's
 * X509Certificate (OpenSSL) doing the signature and name/key-id linkage work.
 * linkage() and validAt() are shared with the SEV-SNP and TPM chains; OpenSSL
 * verifies RSA-PSS signatures (AMD's ASK/ARK) as it does ECDSA ones.
 */
import { X509Certificate } from 'node:crypto';
import type { AttestationDocument } from './document.js';
import { equalBytes } from './document.js';
import { AttestationError, ensure } from './errors.js';
import { pathLenConstraint } from './x509.js';

/**
 * Verifies the document's chain against `root` and returns the leaf. The
 * bundle's first certificate must be the pinned root, byte for byte (NSM puts
 * the root first). Every certificate must be valid at the document's timestamp
 * and at `at` (ms); at `at` a notBefore up to `skewMs` ahead is tolerated, as
 * a document dated that far in the future is.
 */
export function verifyChain(doc: AttestationDocument, root: X509Certificate, at: number, skewMs: number): X509Certificate {
  ensure(equalBytes(doc.cabundle[0]!, root.raw), 'root', `the document's root is not the pinned root (${root.subject.replace(/\n/g, ', ')})`);
  const certs = [root, ...doc.cabundle.slice(1).map((der, i) => parse(der, `cabundle[${i + 1}]`)), parse(doc.certificate, 'leaf certificate')];
  const label = (i: number) => (i === 0 ? 'root' : i === certs.length - 1 ? 'leaf certificate' : `cabundle[${i}]`);
  for (let i = 1; i < certs.length; i++) linkage(certs[i]!, certs[i - 1]!, label(i), label(i - 1), certs.length - 2 - (i - 1));
  certs.forEach((cert, i) => {
    validAt(cert, doc.timestamp, 0, label(i));
    validAt(cert, at, skewMs, label(i));
  });
  return certs[certs.length - 1]!;
}

/** Every certificate in a PEM file, or the one certificate of a DER file. */
export function readCertificates(bytes: Uint8Array, label: string): X509Certificate[] {
  const text = Buffer.from(bytes).toString('latin1');
  const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g);
  try {
    return pems ? pems.map((p) => new X509Certificate(p)) : [new X509Certificate(bytes)];
  } catch (e) {
    throw new AttestationError('chain', `${label} is not a valid X.509 certificate`, { cause: e });
  }
}

function parse(der: Uint8Array, label: string): X509Certificate {
  try {
    return new X509Certificate(der);
  } catch (e) {
    throw new AttestationError('chain', `${label} is not a valid X.509 certificate`, { cause: e });
  }
}

/** `child` was issued and signed by `parent`, a CA allowing `casBelow` intermediates under it. */
export function linkage(child: X509Certificate, parent: X509Certificate, childLabel: string, parentLabel: string, casBelow: number): void {
  ensure(parent.ca, 'chain', `${parentLabel} is not a CA (basicConstraints)`);
  const pathLen = guard(() => pathLenConstraint(parent.raw), `${parentLabel} has malformed extensions`);
  ensure(pathLen === undefined || casBelow <= pathLen, 'chain', `${parentLabel} allows ${pathLen} CAs below it, the chain has ${casBelow}`);
  // checkIssued: issuer/subject names, key identifiers and the issuer's keyCertSign usage (OpenSSL X509_check_issued).
  ensure(guard(() => child.checkIssued(parent), `${childLabel} cannot be checked`), 'chain', `${childLabel} was not issued by ${parentLabel}`);
  ensure(guard(() => child.verify(parent.publicKey), `${childLabel} cannot be verified`), 'chain', `${childLabel}'s signature does not verify with ${parentLabel}'s key`);
}

export function validAt(cert: X509Certificate, t: number, skewMs: number, label: string): void {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  ensure(Number.isFinite(from) && Number.isFinite(to), 'chain', `${label} has unreadable validity dates`);
  ensure(t + skewMs >= from && t <= to, 'validity', `${label} is valid ${new Date(from).toISOString()} to ${new Date(to).toISOString()}, not at ${new Date(t).toISOString()}`);
}

function guard<T>(fn: () => T, detail: string): T {
  try {
    return fn();
  } catch (e) {
    throw new AttestationError('chain', detail, { cause: e });
  }
}
