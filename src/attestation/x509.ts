/**
 * X.509 v3 certificates for the development CAs (RFC 5280), built with the DER
 * writer and signed by node:crypto: ECDSA P-384 with SHA-384 (the dev Nitro
 * CA), or RSASSA-PSS SHA-384 by an RSA issuer (the dev SEV-SNP ARK and ASK, as
 * AMD's); and reading what node:crypto's X509Certificate does not expose
 * (extensions, pathLen).
 */
import { constants, createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import {
  TAG, bitString, boolean, children, decodeOid, explicit, implicitPrimitive, integer, namedBits, octetString, oid,
  printableString, readTlv, sequence, set, time, tlv, utf8String,
} from './der.js';

/** Distinguished name, as ordered attributes; C is PrintableString, the rest UTF8String. */
export type Name = ReadonlyArray<readonly ['C' | 'O' | 'OU' | 'CN', string]>;

export interface CertificateSpec {
  subject: Name;
  issuer: Name;
  subjectKey: KeyObject; // public
  issuerKey: KeyObject; // private, signs the certificate
  issuerPublicKey: KeyObject; // for the authority key identifier
  notBefore: Date;
  notAfter: Date;
  /** A CA with an optional path length limit, or an end-entity (leaf). */
  ca: { pathLen?: number } | false;
  /** More non-critical extensions, after the standard ones: dotted OID → extnValue content. */
  extra?: ReadonlyArray<readonly [string, Uint8Array]>;
}

const OID = {
  ecdsaWithSha384: '1.2.840.10045.4.3.3',
  rsassaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  sha384: '2.16.840.1.101.3.4.2.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  C: '2.5.4.6', O: '2.5.4.10', OU: '2.5.4.11', CN: '2.5.4.3',
} as const;

/** KeyUsage bits (RFC 5280 §4.2.1.3). */
const KU = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

/** SHA-384 for RSA-PSS, salt 48: AMD's ARK/ASK parameters (RFC 4055 §3.1; hash parameters NULL, as AMD encodes them). */
const PSS_SALT = 48;
const SHA384_ID = sequence(oid(OID.sha384), tlv(TAG.NULL, new Uint8Array(0)));
const PSS_ALGORITHM = sequence(oid(OID.rsassaPss), sequence(explicit(0, SHA384_ID), explicit(1, sequence(oid(OID.mgf1), SHA384_ID)), explicit(2, integer(BigInt(PSS_SALT)))));

export function buildCertificate(spec: CertificateSpec): Uint8Array {
  const rsa = spec.issuerKey.asymmetricKeyType === 'rsa';
  const algorithm = rsa ? PSS_ALGORITHM : sequence(oid(OID.ecdsaWithSha384)); // §4.1.1.2: parameters absent for ECDSA
  const spki = spec.subjectKey.export({ type: 'spki', format: 'der' });
  const tbs = sequence(
    explicit(0, integer(2n)), // v3
    integer(serialNumber()),
    algorithm,
    encodeName(spec.issuer),
    sequence(time(spec.notBefore), time(spec.notAfter)),
    encodeName(spec.subject),
    spki,
    explicit(3, sequence(...extensions(spec))),
  );
  const signature = rsa
    ? sign('sha384', tbs, { key: spec.issuerKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT })
    : sign('sha384', tbs, spec.issuerKey); // DER ECDSA-Sig-Value, as X.509 wants
  return sequence(tbs, algorithm, bitString(signature));
}

export function encodeName(name: Name): Uint8Array {
  return sequence(...name.map(([attr, value]) =>
    set(sequence(oid(OID[attr]), attr === 'C' ? printableString(value) : utf8String(value)))));
}

function extensions(spec: CertificateSpec): Uint8Array[] {
  const constraints = spec.ca === false
    ? sequence()
    : sequence(boolean(true), ...(spec.ca.pathLen === undefined ? [] : [integer(BigInt(spec.ca.pathLen))]));
  const usage = spec.ca === false ? [KU.digitalSignature] : [KU.digitalSignature, KU.keyCertSign, KU.cRLSign];
  return [
    extension(OID.basicConstraints, true, constraints),
    extension(OID.keyUsage, true, namedBits(usage)),
    extension(OID.subjectKeyId, false, octetString(keyIdentifier(spec.subjectKey))),
    extension(OID.authorityKeyId, false, sequence(implicitPrimitive(0, keyIdentifier(spec.issuerPublicKey)))),
    ...(spec.extra ?? []).map(([id, value]) => extension(id, false, value)),
  ];
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));
}

/** RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING's bits. */
function keyIdentifier(key: KeyObject): Uint8Array {
  const spki = children(readTlv(key.export({ type: 'spki', format: 'der' }), 0).content);
  return createHash('sha1').update(spki[1]!.content.subarray(1)).digest();
}

/** §4.1.2.2: positive, at most 20 octets; 16 random bytes with the top bit clear. */
function serialNumber(): bigint {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f;
  bytes[0]! |= 0x01; // never zero, never shorter than it looks
  return BigInt(`0x${bytes.toString('hex')}`);
}

/**
 * The extensions of a certificate node:crypto has parsed: dotted OID → the
 * extnValue OCTET STRING's content. Throws RangeError on malformed DER.
 */
export function extensionValues(der: Uint8Array): Map<string, Uint8Array> {
  const tbs = children(readTlv(der, 0).content)[0]!;
  const wrapped = children(tbs.content).find((t) => t.tag === 0xa3);
  const out = new Map<string, Uint8Array>();
  if (!wrapped) return out;
  for (const ext of children(readTlv(wrapped.content, 0).content)) {
    const [id, ...rest] = children(ext.content);
    const value = rest[rest.length - 1];
    if (!id || id.tag !== TAG.OID || value?.tag !== TAG.OCTET_STRING) throw new RangeError('malformed extension');
    out.set(decodeOid(id.content), value.content);
  }
  return out;
}

/**
 * basicConstraints pathLenConstraint of a certificate node:crypto has parsed,
 * or undefined when absent (no limit). Throws RangeError on malformed DER.
 */
export function pathLenConstraint(der: Uint8Array): number | undefined {
  const value = extensionValues(der).get(OID.basicConstraints);
  if (!value) return undefined;
  const limit = children(readTlv(value, 0).content).find((f) => f.tag === TAG.INTEGER);
  if (!limit) return undefined;
  if (limit.content.length > 2 || (limit.content[0]! & 0x80)) throw new RangeError('pathLenConstraint out of range');
  return limit.content.reduce((n, b) => n * 256 + b, 0);
}
