/**
 * verifyTpmQuote: the offline check of a TPM 2.0 quote from a vTPM. The
 * checks run in the order of docs/attestation.md ("TPM 2.0 quotes"): the
 * TPMS_ATTEST and signature structures, the AK certificate's chain to the
 * provider CA in `chain` (its self-signed root is the trust anchor), the
 * quote signature with the AK, the nonce (extraData), the event-log replay
 * and the PCR digest. The first failure throws AttestationError(check).
 */
import { createHash, timingSafeEqual, type X509Certificate } from 'node:crypto';
import { EbakError } from '../../errors.js';
import { linkage, readCertificates, validAt } from '../chain.js';
import { ensure } from '../errors.js';
import { parseTpmsAttest, type PcrSelection, type TpmQuote } from './attest.js';
import { parseEventLog, replay, resetValue } from './eventlog.js';
import { HASH_ALGS } from './reader.js';
import { parseQuoteSignature, signatureHash, verifyQuoteSignature, type QuoteSignature } from './signature.js';

export interface TpmVerifyOptions {
  /** The quote signature: TPMT_SIGNATURE, DER ECDSA or raw RSA. */
  signature: Uint8Array;
  /** The AK certificate, DER or PEM (the first certificate of a PEM file). */
  akCert: Uint8Array;
  /** The provider CA: intermediates and the self-signed root, PEM. */
  chain: Uint8Array;
  /** The nonce the verifier sent; extraData must be exactly it. */
  nonce: Uint8Array;
  /** Expected PCR values by index (in the quoted bank). */
  pcrs?: ReadonlyMap<number, Uint8Array>;
  /** A TCG crypto-agile event log to replay (SHA-256 bank). */
  eventLog?: Uint8Array;
  /** The time the certificates must be valid at (default: now). */
  at?: Date;
}

export interface VerifiedTpmQuote {
  quote: TpmQuote;
  signature: QuoteSignature;
  ak: X509Certificate;
  /** The PCR values the digest was checked against, when it was. */
  pcrs: Map<number, Uint8Array> | null;
}

const MAX_DEPTH = 8;
const SHA256 = 0x000b;

export function verifyTpmQuote(bytes: Uint8Array, options: TpmVerifyOptions): VerifiedTpmQuote {
  const at = (options.at ?? new Date()).getTime();
  if (!Number.isFinite(at)) throw new EbakError('USAGE', 'attestation check time is not a valid date');
  const quote = parseTpmsAttest(bytes);
  const signature = parseQuoteSignature(options.signature);
  const ak = verifyAkChain(options.akCert, options.chain, at);
  verifyQuoteSignature(quote.raw, signature, ak.publicKey);
  ensure(quote.extraData.length === options.nonce.length && timingSafeEqual(quote.extraData, options.nonce), 'nonce', 'the quote extraData differs from the nonce sent');
  const expected = options.pcrs ?? new Map<number, Uint8Array>();
  const values = options.eventLog ? withReplay(quote, options.eventLog, expected) : new Map(expected);
  if (values.size === 0) return { quote, signature, ak, pcrs: null };
  checkPcrDigest(quote, values, signatureHash(signature, ak.publicKey));
  return { quote, signature, ak, pcrs: values };
}

/** AK ← intermediates ← self-signed root, all from `chain`, each valid at `at`. */
function verifyAkChain(akCert: Uint8Array, chain: Uint8Array, at: number): X509Certificate {
  const [ak] = readCertificates(akCert, 'the AK certificate');
  const cas = readCertificates(chain, 'the CA chain');
  ensure(ak !== undefined, 'chain', 'the AK certificate file holds no certificate');
  const path = [ak];
  while (path.length === 1 || path[path.length - 1]!.subject !== path[path.length - 1]!.issuer) {
    const cert = path[path.length - 1]!;
    const parent = cas.find((c) => c.subject === cert.issuer && c !== cert);
    ensure(parent !== undefined, 'chain', `no certificate in the chain issued "${cert.issuer.replace(/\n/g, ', ')}"`);
    ensure(path.length <= MAX_DEPTH, 'chain', 'the AK chain is too long');
    path.push(parent);
  }
  const label = (i: number) => (i === 0 ? 'the AK certificate' : i === path.length - 1 ? 'the root CA' : `CA ${i}`);
  const root = path[path.length - 1]!;
  linkage(root, root, label(path.length - 1), label(path.length - 1), path.length - 2);
  // The parent path[i + 1] has i CAs below it (path[1..i]).
  for (let i = 0; i < path.length - 1; i++) linkage(path[i]!, path[i + 1]!, label(i), label(i + 1), i);
  path.forEach((cert, i) => validAt(cert, at, 0, label(i)));
  return ak;
}

/**
 * The quoted PCRs' values with an event log: the replayed SHA-256 value for
 * the PCRs the log extends (an expected value for one must equal it), the
 * expected value for the others (PCRs the OS extends, such as IMA's PCR10),
 * else the reset value (an event log that never touches a PCR says it kept it).
 */
function withReplay(quote: TpmQuote, log: Uint8Array, expected: ReadonlyMap<number, Uint8Array>): Map<number, Uint8Array> {
  ensure(quote.selections.every((s) => s.hashAlg === SHA256), 'event-log', 'only the SHA-256 bank is replayed, the quote selects another');
  const replayed = replay(parseEventLog(log), SHA256);
  for (const [pcr, want] of expected) {
    const got = replayed.get(pcr);
    ensure(got === undefined || Buffer.compare(got, want) === 0, 'event-log', `the event log replays PCR${pcr} to ${hex(got ?? new Uint8Array())}, expected ${hex(want)}`);
  }
  const values = new Map<number, Uint8Array>();
  for (const pcr of quote.selections.flatMap((sel) => sel.pcrs)) values.set(pcr, replayed.get(pcr) ?? expected.get(pcr) ?? resetValue(pcr, 32));
  return values;
}

/** pcrDigest = H(selected PCR values in selection order), H the signing hash (TPM 2.0 Part 3 §18.4). */
function checkPcrDigest(quote: TpmQuote, values: ReadonlyMap<number, Uint8Array>, hash: string): void {
  const parts: Uint8Array[] = [];
  for (const sel of quote.selections) for (const pcr of sel.pcrs) parts.push(valueOf(sel, pcr, values));
  const digest = createHash(hash).update(Buffer.concat(parts)).digest();
  ensure(Buffer.compare(digest, quote.pcrDigest) === 0, 'pcr', 'the quoted PCR digest differs from the digest of the expected PCR values');
}

function valueOf(sel: PcrSelection, pcr: number, values: ReadonlyMap<number, Uint8Array>): Uint8Array {
  const bank = HASH_ALGS.get(sel.hashAlg)!;
  const value = values.get(pcr);
  ensure(value !== undefined, 'pcr', `PCR${pcr} is quoted but has no expected value (give every quoted PCR, or an event log)`);
  ensure(value.length === bank.size, 'pcr', `the expected PCR${pcr} is ${value.length} bytes, the ${bank.name} bank's are ${bank.size}`);
  return value;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
