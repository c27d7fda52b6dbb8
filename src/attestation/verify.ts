/**
 * verifyAttestation: the client-side check of a Nitro attestation document.
 * A pure function of the bytes and the options; checks run in the order of
 * docs/attestation.md and the first failure throws AttestationError(check).
 */
import { timingSafeEqual, verify, type X509Certificate } from 'node:crypto';
import { EbakError } from '../errors.js';
import { verifyChain } from './chain.js';
import { parseCoseSign1, parseDocument, sigStructure, type AttestationDocument, type CoseSign1 } from './document.js';
import { AttestationError, ensure } from './errors.js';

export interface VerifyOptions {
  /** The pinned root: awsNitroRootG1() in production, the dev CA's root in simulation. */
  root: X509Certificate;
  /** The time to check at (default: now). Certificates must be valid at it (up to the skew) and at the document's timestamp. */
  at?: Date;
  /** Pinned PCR values by index, hex or bytes; each must equal the document's. */
  pcrs?: Readonly<Record<number, string | Uint8Array>>;
  /** The nonce the client sent; the document must carry exactly it. */
  nonce?: Uint8Array;
  /** Oldest acceptable document, relative to `at` (default 300 s). */
  maxAgeSeconds?: number;
  /** How far in the future of `at` a document may be dated (clock skew, default 60 s). */
  maxSkewSeconds?: number;
  /** Accept a debug-mode enclave (PCR0/1/2 all zero), whose memory the host can read. */
  allowDebug?: boolean;
}

export const DEFAULT_MAX_AGE_SECONDS = 300;
export const DEFAULT_MAX_SKEW_SECONDS = 60;

export function verifyAttestation(bytes: Uint8Array, options: VerifyOptions): AttestationDocument {
  const pinned = normalisePcrs(options.pcrs ?? {});
  const at = (options.at ?? new Date()).getTime();
  if (!Number.isFinite(at)) throw new EbakError('USAGE', 'attestation check time is not a valid date');
  const cose = parseCoseSign1(bytes);
  const doc = parseDocument(cose.payload);
  const skew = options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  const leaf = verifyChain(doc, options.root, at, skew * 1000);
  verifySignature(cose, leaf);
  ensure(options.allowDebug === true || !isDebug(doc), 'debug', 'PCR0, PCR1 and PCR2 are all zero: the enclave runs in debug mode and its memory is readable by the host');
  for (const [index, want] of pinned) checkPcr(doc, index, want);
  if (options.nonce !== undefined) checkNonce(doc, options.nonce);
  checkFreshness(doc.timestamp, at, options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS, skew);
  return doc;
}

/** RFC 9052 §4.4: the signature is over the Sig_structure, with the leaf certificate's P-384 key. */
function verifySignature(cose: CoseSign1, leaf: X509Certificate): void {
  const key = leaf.publicKey;
  ensure(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'secp384r1', 'signature', 'the leaf key is not ECDSA P-384 as ES384 requires');
  let ok: boolean;
  try {
    ok = verify('sha384', sigStructure(cose.protectedHeader, cose.payload), { key, dsaEncoding: 'ieee-p1363' }, cose.signature);
  } catch (e) {
    throw new AttestationError('signature', 'the COSE signature cannot be checked', { cause: e });
  }
  ensure(ok, 'signature', 'the COSE_Sign1 signature does not verify with the leaf certificate key');
}

export function isDebug(doc: AttestationDocument): boolean {
  return [0, 1, 2].every((i) => doc.pcrs.get(i)!.every((b) => b === 0));
}

function checkPcr(doc: AttestationDocument, index: number, want: Uint8Array): void {
  const got = doc.pcrs.get(index);
  ensure(got !== undefined, 'pcr', `PCR${index} is pinned but the document has none`);
  ensure(Buffer.compare(got, want) === 0, 'pcr', `PCR${index} is ${hex(got)}, expected ${hex(want)}`);
}

function checkNonce(doc: AttestationDocument, want: Uint8Array): void {
  const got = doc.nonce;
  ensure(got !== null, 'nonce', 'the document carries no nonce');
  ensure(got.length === want.length && timingSafeEqual(got, want), 'nonce', 'the document nonce differs from the one sent');
}

function checkFreshness(timestamp: number, at: number, maxAgeSeconds: number, maxSkewSeconds: number): void {
  const age = (at - timestamp) / 1000;
  ensure(age <= maxAgeSeconds, 'freshness', `the document is ${age.toFixed(0)} s old, the limit is ${maxAgeSeconds} s`);
  ensure(-age <= maxSkewSeconds, 'freshness', `the document is dated ${(-age).toFixed(0)} s in the future, the skew limit is ${maxSkewSeconds} s`);
}

function normalisePcrs(pcrs: Readonly<Record<number, string | Uint8Array>>): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (const [key, value] of Object.entries(pcrs)) {
    const index = Number(key);
    const bytes = typeof value === 'string' ? (/^([0-9a-fA-F]{2})*$/.test(value) ? Buffer.from(value, 'hex') : undefined) : value;
    if (!Number.isInteger(index) || index < 0 || index > 31 || bytes?.length !== 48) {
      throw new EbakError('USAGE', `pinned PCR${key} must be an index 0..31 with 48 bytes (96 hex digits)`);
    }
    out.set(index, bytes);
  }
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
