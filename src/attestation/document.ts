/**
 * The Nitro attestation document and its COSE_Sign1 envelope, byte for byte as
 * the Nitro Security Module emits them (AWS, "Verifying the root of trust";
 * aws-nitro-enclaves-nsm-api attestation_process.md):
 *
 *   COSE_Sign1 = [ protected: bstr(a1 01 38 22 = {1: -35, ES384}), unprotected: {},
 *                  payload: bstr(AttestationDocument), signature: bstr(96: r || s) ]
 *   AttestationDocument = { module_id, digest, timestamp, pcrs, certificate, cabundle,
 *                           public_key, user_data, nonce }   (this key order; absent = null)
 *
 * Parsing is strict: exactly these keys in this order, PCR indexes ascending,
 * sizes inside the AWS limits. So encodeDocument(parse(x)) === x for every
 * accepted document and nothing about a document is malleable.
 */
import { CborError, decodeStrict, encode, type CborMap, type CborValue } from './cbor.js';
import { AttestationError, ensure } from './errors.js';

export interface AttestationDocument {
  moduleId: string;
  digest: 'SHA384';
  /** Milliseconds since the UNIX epoch (UTC). */
  timestamp: number;
  /** PCR index → value, ascending. */
  pcrs: Map<number, Uint8Array>;
  /** The leaf (signing) certificate, DER. */
  certificate: Uint8Array;
  /** Root first, then intermediates down to the leaf's issuer; DER. */
  cabundle: Uint8Array[];
  publicKey: Uint8Array | null;
  userData: Uint8Array | null;
  nonce: Uint8Array | null;
}

export interface CoseSign1 {
  protectedHeader: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
}

/** The only protected header NSM writes: {1 (alg): -35 (ES384)}. */
export const ES384_PROTECTED = Uint8Array.of(0xa1, 0x01, 0x38, 0x22);
export const FIELD_ORDER = [
  'module_id', 'digest', 'timestamp', 'pcrs', 'certificate', 'cabundle', 'public_key', 'user_data', 'nonce',
] as const;
export const LIMITS = {
  document: 32 * 1024,
  cert: 1024,
  cabundle: 8,
  pcrCount: 32,
  publicKey: 1024,
  userData: 1024,
  nonce: 1024,
} as const;
/** PCR0/1/2 (image, kernel+boot, application) must be present: the debug rule and pinning need them. */
export const REQUIRED_PCRS = [0, 1, 2] as const;

export function parseCoseSign1(bytes: Uint8Array): CoseSign1 {
  ensure(bytes.length <= LIMITS.document, 'cose', `document is ${bytes.length} bytes, limit ${LIMITS.document}`);
  const top = decode(bytes, 'cose');
  // RFC 9052 §4.2: COSE_Sign1 is a 4-array; NSM sends it untagged (no tag 18), and so must we.
  ensure(Array.isArray(top) && top.length === 4, 'cose', 'COSE_Sign1 must be an untagged array of 4 items');
  const [prot, unprot, payload, signature] = top;
  ensure(prot instanceof Uint8Array && equalBytes(prot, ES384_PROTECTED), 'cose', 'protected header must be exactly {alg: ES384}');
  ensure(unprot instanceof Map && unprot.size === 0, 'cose', 'unprotected header must be an empty map');
  ensure(payload instanceof Uint8Array, 'cose', 'payload must be a byte string');
  ensure(signature instanceof Uint8Array && signature.length === 96, 'cose', 'ES384 signature must be 96 bytes (r || s)');
  return { protectedHeader: prot, payload, signature };
}

export function encodeCoseSign1(cose: CoseSign1): Uint8Array {
  return encode([cose.protectedHeader, new Map(), cose.payload, cose.signature]);
}

/** RFC 9052 §4.4: Sig_structure = ["Signature1", body_protected, external_aad = h'', payload]. */
export function sigStructure(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return encode(['Signature1', protectedHeader, new Uint8Array(0), payload]);
}

export function parseDocument(payload: Uint8Array): AttestationDocument {
  const map = decode(payload, 'payload');
  ensure(map instanceof Map, 'payload', 'attestation document must be a map');
  const keys = [...map.keys()];
  ensure(
    keys.length === FIELD_ORDER.length && keys.every((k, i) => k === FIELD_ORDER[i]),
    'payload',
    `fields must be exactly ${FIELD_ORDER.join(', ')} in that order (got ${keys.map(String).join(', ')})`,
  );
  const moduleId = map.get('module_id');
  ensure(typeof moduleId === 'string' && moduleId.length > 0, 'payload', 'module_id must be non-empty text');
  ensure(map.get('digest') === 'SHA384', 'payload', 'digest must be "SHA384"');
  return {
    moduleId,
    digest: 'SHA384',
    timestamp: parseTimestamp(map.get('timestamp')),
    pcrs: parsePcrs(map.get('pcrs')),
    certificate: bytesField(map, 'certificate', 1, LIMITS.cert),
    cabundle: parseCabundle(map.get('cabundle')),
    publicKey: optionalBytes(map, 'public_key', 1, LIMITS.publicKey),
    userData: optionalBytes(map, 'user_data', 0, LIMITS.userData),
    nonce: optionalBytes(map, 'nonce', 0, LIMITS.nonce),
  };
}

export function encodeDocument(doc: AttestationDocument): Uint8Array {
  return encode(new Map<string, unknown>([
    ['module_id', doc.moduleId],
    ['digest', doc.digest],
    // An 8-byte head, as NSM writes it; cbor-x would write a Number this large as a float.
    ['timestamp', BigInt(doc.timestamp)],
    ['pcrs', doc.pcrs],
    ['certificate', doc.certificate],
    ['cabundle', doc.cabundle],
    ['public_key', doc.publicKey],
    ['user_data', doc.userData],
    ['nonce', doc.nonce],
  ]));
}

function decode(bytes: Uint8Array, check: 'cose' | 'payload'): CborValue {
  try {
    return decodeStrict(bytes);
  } catch (e) {
    if (e instanceof CborError) throw new AttestationError(check, e.message, { cause: e });
    throw e;
  }
}

/** ECMA-262 §21.4.1.1: the largest time a Date can hold. */
const MAX_DATE_MS = 8_640_000_000_000_000n;

function parseTimestamp(value: CborValue | undefined): number {
  // Any time after Feb 1970 is > 2^32 ms, so NSM writes an 8-byte head (the reader gives a bigint).
  ensure(typeof value === 'bigint' && value <= MAX_DATE_MS, 'payload', 'timestamp must be a uint64 of milliseconds within the JavaScript Date range');
  return Number(value);
}

function parsePcrs(value: CborValue | undefined): Map<number, Uint8Array> {
  ensure(value instanceof Map, 'payload', 'pcrs must be a map');
  ensure(value.size >= 1 && value.size <= LIMITS.pcrCount, 'payload', `pcrs must hold 1..${LIMITS.pcrCount} entries`);
  const pcrs = new Map<number, Uint8Array>();
  let last = -1;
  for (const [index, pcr] of value) {
    ensure(typeof index === 'number' && index > last && index < LIMITS.pcrCount, 'payload', 'PCR indexes must be ascending integers 0..31');
    // AWS allows 32/48/64-byte PCRs in general; with digest SHA384 they are 48.
    ensure(pcr instanceof Uint8Array && pcr.length === 48, 'payload', `PCR${index} must be 48 bytes (SHA384)`);
    last = index;
    pcrs.set(index, pcr);
  }
  for (const i of REQUIRED_PCRS) ensure(pcrs.has(i), 'payload', `PCR${i} is missing`);
  return pcrs;
}

function parseCabundle(value: CborValue | undefined): Uint8Array[] {
  ensure(Array.isArray(value) && value.length >= 1 && value.length <= LIMITS.cabundle, 'payload', `cabundle must be an array of 1..${LIMITS.cabundle} certificates`);
  return value.map((cert, i) => {
    ensure(cert instanceof Uint8Array && cert.length >= 1 && cert.length <= LIMITS.cert, 'payload', `cabundle[${i}] must be 1..${LIMITS.cert} bytes`);
    return cert;
  });
}

function bytesField(map: CborMap, name: string, min: number, max: number): Uint8Array {
  const value = map.get(name);
  ensure(value instanceof Uint8Array && value.length >= min && value.length <= max, 'payload', `${name} must be ${min}..${max} bytes`);
  return value;
}

function optionalBytes(map: CborMap, name: string, min: number, max: number): Uint8Array | null {
  return map.get(name) === null ? null : bytesField(map, name, min, max);
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
