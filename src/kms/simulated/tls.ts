/**
 * The simulated key service's TLS identity: a P-256 key and a self-signed
 * certificate (subjectAltName localhost, 127.0.0.1, ::1 and the listen host),
 * written once into `<dir>/tls/` (key 0600) and reused on later starts, so a
 * client's pinned `ca` stays valid. Production talks to kms.<region>.amazonaws.com
 * under the public web PKI instead.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import {
  AlgorithmIdentifier, AttributeTypeAndValue, AttributeValue, Certificate, Extension, Extensions, GeneralName, Name,
  RelativeDistinguishedName, SubjectAlternativeName, SubjectPublicKeyInfo, TBSCertificate, Validity, Version,
  id_ce_subjectAltName,
} from '@peculiar/asn1-x509';
import { EbakError } from '../../errors.js';

export interface ServiceTls {
  key: string; // PEM
  cert: string; // PEM
}

const ECDSA_SHA256 = '1.2.840.10045.4.3.2';
const YEAR = 365 * 24 * 3600 * 1000;

/** The identity in `<dir>/tls/`, created on first use. */
export async function serviceTls(dir: string, host: string): Promise<ServiceTls> {
  const tlsDir = join(dir, 'tls');
  const files = { key: join(tlsDir, 'key.pem'), cert: join(tlsDir, 'cert.pem') };
  try {
    const tls = { key: await readFile(files.key, 'utf8'), cert: await readFile(files.cert, 'utf8') };
    if (!new X509Certificate(tls.cert).checkPrivateKey(createPrivateKey(tls.key))) throw new EbakError('CORRUPT', `${files.key} does not match ${files.cert}`);
    return tls;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e instanceof EbakError ? e : new EbakError('IO', `cannot read the TLS identity in ${tlsDir}`, { cause: e });
  }
  const tls = createIdentity(host);
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  await writeFile(files.key, tls.key, { flag: 'wx', mode: 0o600 });
  await writeFile(files.cert, tls.cert, { flag: 'wx', mode: 0o644 });
  return tls;
}

/**
 * A certificate serial's INTEGER content from 16 random octets: the top bit
 * clear (positive) and the first octet never zero. A leading zero octet is
 * not DER (the encoding must be minimal), OpenSSL then refuses the whole
 * certificate, and the key service failed to start 1 time in 256.
 */
export function serialOctets(random: Buffer = randomBytes(16)): Buffer {
  random[0] = (random[0]! & 0x7f) | 0x01;
  return random;
}

/** A fresh key and self-signed certificate for `host` (and the loopback names); `serial` for tests. */
export function createIdentity(host: string, serial = serialOctets()): ServiceTls {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = new Name([new RelativeDistinguishedName([new AttributeTypeAndValue({ type: '2.5.4.3', value: new AttributeValue({ utf8String: 'ebak simulated key service' }) })])]);
  const now = Date.now();
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }),
    issuer: name,
    subject: name,
    validity: new Validity({ notBefore: new Date(Math.floor(now / 1000) * 1000 - 3600_000), notAfter: new Date(Math.floor(now / 1000) * 1000 + 10 * YEAR) }),
    subjectPublicKeyInfo: AsnConvert.parse(pair.publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo),
    extensions: new Extensions([
      extension(id_ce_subjectAltName, new SubjectAlternativeName(altNames(host)), false),
    ]),
  });
  const signature = sign('sha256', Buffer.from(AsnConvert.serialize(tbs)), pair.privateKey);
  const cert = new Certificate({ tbsCertificate: tbs, signatureAlgorithm: new AlgorithmIdentifier({ algorithm: ECDSA_SHA256 }), signatureValue: new Uint8Array(signature).buffer });
  return { key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, cert: new X509Certificate(Buffer.from(AsnConvert.serialize(cert))).toString() };
}

function altNames(host: string): GeneralName[] {
  const names = new Set(['localhost', '127.0.0.1', '::1', host]);
  return [...names].filter((n) => n !== '' && n !== '0.0.0.0' && n !== '::').map((n) => new GeneralName(isIP(n) ? { iPAddress: n } : { dNSName: n }));
}

function extension(id: string, value: object, critical: boolean): Extension {
  return new Extension({ extnID: id, critical, extnValue: new OctetString(AsnConvert.serialize(value)) });
}
