/**
 * The Recipient check of the simulated key service, as KMS makes it before a
 * key policy sees the request: the attestation document verifies against the
 * service's pinned root (src/attestation: chain, ES384 signature, not debug),
 * is at most 5 minutes old, and carries a public_key that is an RSA key of at
 * least 2048 bits. Its PCRs then feed the kms:RecipientAttestation condition
 * keys (ImageSha384 is PCR0).
 */
import { createPublicKey, type X509Certificate } from 'node:crypto';
import { verifyAttestation } from '../../attestation/index.js';
import { isEbakError } from '../../errors.js';
import { KmsFault } from './fault.js';

export const RECIPIENT_MAX_AGE_SECONDS = 300;
const MIN_RSA_BITS = 2048;

export interface RecipientRequest {
  KeyEncryptionAlgorithm?: unknown;
  AttestationDocument?: Buffer;
}

export interface VerifiedRecipient {
  /** PCR index -> lower-case hex. */
  pcrs: Map<number, string>;
  /** The enclave's RSA public key, SPKI DER: the answer is sealed to it. */
  publicKey: Buffer;
}

export function verifyRecipient(r: RecipientRequest, root: X509Certificate, at: Date = new Date()): VerifiedRecipient {
  if (r.KeyEncryptionAlgorithm !== 'RSAES_OAEP_SHA_256') throw new KmsFault('ValidationException', 'Recipient.KeyEncryptionAlgorithm must be RSAES_OAEP_SHA_256');
  if (r.AttestationDocument === undefined) throw new KmsFault('ValidationException', 'Recipient.AttestationDocument is required');
  let doc;
  try {
    doc = verifyAttestation(r.AttestationDocument, { root, at, maxAgeSeconds: RECIPIENT_MAX_AGE_SECONDS });
  } catch (e) {
    if (!isEbakError(e)) throw e;
    throw new KmsFault('AccessDeniedException', `the attestation document is not trusted: ${e.message}`);
  }
  if (doc.publicKey === null) throw new KmsFault('ValidationException', 'the attestation document has no public_key');
  const publicKey = Buffer.from(doc.publicKey);
  let bits: number | undefined;
  try {
    const key = createPublicKey({ key: publicKey, format: 'der', type: 'spki' });
    bits = key.asymmetricKeyType === 'rsa' ? key.asymmetricKeyDetails?.modulusLength : undefined;
  } catch {
    bits = undefined;
  }
  if (bits === undefined || bits < MIN_RSA_BITS) throw new KmsFault('ValidationException', `the attestation document's public_key is not an RSA key of at least ${MIN_RSA_BITS} bits`);
  const pcrs = new Map([...doc.pcrs].map(([i, v]) => [i, Buffer.from(v).toString('hex')]));
  return { pcrs, publicKey };
}
