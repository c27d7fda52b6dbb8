/**
 * Quote signatures in the three shapes vTPMs hand out: a TPMT_SIGNATURE
 * (TPM 2.0 Part 2 §11.3.4: RSASSA, RSAPSS or ECDSA, with its hash), a bare
 * DER ECDSA-Sig-Value (NitroTPM, vaportpm), or a bare RSA signature the size
 * of the modulus (Azure: RSASSA-PKCS1-v1_5 SHA-256). All are checked over the
 * TPMS_ATTEST bytes with the AK's public key.
 */
import { constants, verify, type KeyObject } from 'node:crypto';
import { AttestationError, ensure } from '../errors.js';
import { HASH_ALGS, Reader } from './reader.js';

export const TPM_ALG = { rsassa: 0x0014, rsapss: 0x0016, ecdsa: 0x0018 } as const;
type Scheme = keyof typeof TPM_ALG;

export interface QuoteSignature {
  format: 'tpmt' | 'der' | 'raw';
  scheme: Scheme;
  /** node:crypto hash name; null when the bare format leaves it to the key. */
  hash: string | null;
  /** The signature; ECDSA as r‖s (TPMT) or DER (bare). */
  value: Uint8Array;
}

export function parseQuoteSignature(bytes: Uint8Array): QuoteSignature {
  const alg = bytes.length >= 2 ? (bytes[0]! << 8) | bytes[1]! : -1;
  if (Object.values(TPM_ALG).includes(alg as never)) return parseTpmt(bytes);
  if (bytes[0] === 0x30) return { format: 'der', scheme: 'ecdsa', hash: null, value: bytes };
  ensure(bytes.length >= 128, 'quote', 'the signature is neither a TPMT_SIGNATURE, a DER ECDSA signature nor an RSA signature');
  return { format: 'raw', scheme: 'rsassa', hash: 'sha256', value: bytes };
}

function parseTpmt(bytes: Uint8Array): QuoteSignature {
  const r = new Reader(bytes, 'quote', 'the TPMT_SIGNATURE');
  const alg = r.u16();
  const hashAlg = HASH_ALGS.get(r.u16());
  ensure(hashAlg !== undefined, 'quote', 'the TPMT_SIGNATURE hash algorithm is not supported');
  const scheme = (Object.keys(TPM_ALG) as Scheme[]).find((k) => TPM_ALG[k] === alg)!;
  const value = scheme === 'ecdsa' ? ecdsaP1363(r.tpm2b(), r.tpm2b()) : r.tpm2b();
  r.end();
  return { format: 'tpmt', scheme, hash: hashAlg.name, value };
}

/** TPMS_SIGNATURE_ECDSA r and s → IEEE P1363 r‖s, each left-padded to the longer one's size. */
function ecdsaP1363(r: Uint8Array, s: Uint8Array): Uint8Array {
  const size = Math.max(r.length, s.length);
  const pad = (x: Uint8Array) => Buffer.concat([new Uint8Array(size - x.length), x]);
  return Buffer.concat([pad(r), pad(s)]);
}

/** The hash the quote is signed with: the TPMT's, else the curve's (P-256 SHA-256, P-384 SHA-384), else SHA-256. */
export function signatureHash(sig: QuoteSignature, key: KeyObject): string {
  if (sig.hash !== null) return sig.hash;
  return key.asymmetricKeyDetails?.namedCurve === 'secp384r1' ? 'sha384' : 'sha256';
}

export function verifyQuoteSignature(attest: Uint8Array, sig: QuoteSignature, key: KeyObject): void {
  const wantType = sig.scheme === 'ecdsa' ? 'ec' : 'rsa';
  ensure(key.asymmetricKeyType === wantType, 'signature', `the AK is ${key.asymmetricKeyType}, the signature is ${sig.scheme}`);
  const options = sig.scheme === 'ecdsa'
    ? { key, dsaEncoding: sig.format === 'tpmt' ? 'ieee-p1363' as const : 'der' as const }
    : { key, padding: sig.scheme === 'rsapss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO };
  let ok: boolean;
  try {
    ok = verify(signatureHash(sig, key), attest, options, sig.value);
  } catch (e) {
    throw new AttestationError('signature', 'the quote signature cannot be checked', { cause: e });
  }
  ensure(ok, 'signature', 'the quote signature does not verify with the AK');
}
