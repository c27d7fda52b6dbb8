/**
 * CMS EnvelopedData (RFC 5652 §6) in exactly the shape AWS KMS gives a
 * Recipient (`CiphertextForRecipient`): EnvelopedData version 2, one
 * KeyTransRecipientInfo version 2 identified by subjectKeyIdentifier, the
 * content-encryption key RSAES-OAEP encrypted (SHA-256, MGF1-SHA-256,
 * RFC 8017 §7.1) to the enclave's ephemeral key, the content AES-256-CBC.
 * The enclave opens it (openRecipientEnvelope); the simulated key service
 * seals it (sealRecipientEnvelope). Anything outside that one shape is refused.
 */
import { constants, createCipheriv, createDecipheriv, createHash, createPublicKey, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import {
  ContentInfo, EncryptedContent, EncryptedContentInfo, EnvelopedData, KeyTransRecipientInfo, RecipientIdentifier,
  RecipientInfo, RecipientInfos,
} from '@peculiar/asn1-cms';
import { AsnConvert, AsnProp, OctetString } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, SubjectKeyIdentifier, SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { EbakError } from '../errors.js';

const OID = {
  envelopedData: '1.2.840.113549.1.7.3',
  data: '1.2.840.113549.1.7.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  pSpecified: '1.2.840.113549.1.1.9',
  sha256: '2.16.840.1.101.3.4.2.1',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

/** RFC 8017 Appendix A.2.1 RSAES-OAEP-params; every field has a (SHA-1) default, so all are optional. */
class OaepParams {
  hashAlgorithm?: AlgorithmIdentifier;
  maskGenAlgorithm?: AlgorithmIdentifier;
  pSourceAlgorithm?: AlgorithmIdentifier;
}
// The schema decorators applied as plain calls: [0], [1], [2] EXPLICIT.
AsnProp({ type: AlgorithmIdentifier, context: 0, optional: true })(OaepParams.prototype, 'hashAlgorithm');
AsnProp({ type: AlgorithmIdentifier, context: 1, optional: true })(OaepParams.prototype, 'maskGenAlgorithm');
AsnProp({ type: AlgorithmIdentifier, context: 2, optional: true })(OaepParams.prototype, 'pSourceAlgorithm');

const AES_KEY_BYTES = 32;
const AES_BLOCK = 16;
const NULL_DER = Uint8Array.of(0x05, 0x00);

/** Randomness the sealer consumes, injectable for fixed test vectors. */
export type RandomSource = (n: number) => Buffer;

/** Opens a KMS CiphertextForRecipient (BER or DER) with the enclave's RSA private key. */
export function openRecipientEnvelope(der: Uint8Array, privateKey: KeyObject): Buffer {
  const ktri = parseEnvelope(der);
  let cek: Buffer;
  try {
    cek = privateDecrypt({ key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, Buffer.from(ktri.encryptedKey));
  } catch (e) {
    throw new EbakError('AUTH_FAILED', 'the recipient envelope key does not decrypt with this private key', { cause: e });
  }
  if (cek.length !== AES_KEY_BYTES) throw new EbakError('AUTH_FAILED', `the recipient envelope key is ${cek.length} bytes, not ${AES_KEY_BYTES}`);
  try {
    const decipher = createDecipheriv('aes-256-cbc', cek, ktri.iv);
    return Buffer.concat([decipher.update(ktri.content), decipher.final()]);
  } catch (e) {
    throw new EbakError('AUTH_FAILED', 'the recipient envelope content does not decrypt (bad padding)', { cause: e });
  } finally {
    cek.fill(0);
  }
}

/** Seals `plaintext` to an RSA public key (SPKI DER) as KMS does; DER output. */
export function sealRecipientEnvelope(plaintext: Uint8Array, recipientSpkiDer: Uint8Array, random: RandomSource = randomBytes): Buffer {
  const key = createPublicKey({ key: Buffer.from(recipientSpkiDer), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'rsa') throw new EbakError('USAGE', 'the recipient key is not an RSA key');
  const cek = random(AES_KEY_BYTES);
  const iv = random(AES_BLOCK);
  const cipher = createCipheriv('aes-256-cbc', cek, iv);
  const content = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const encryptedKey = oaepEncrypt(key, cek, random);
  cek.fill(0);
  const enveloped = new EnvelopedData({
    version: 2,
    recipientInfos: new RecipientInfos([new RecipientInfo({ ktri: new KeyTransRecipientInfo({
      version: 2,
      rid: new RecipientIdentifier({ subjectKeyIdentifier: new SubjectKeyIdentifier(subjectKeyId(recipientSpkiDer)) }),
      keyEncryptionAlgorithm: new AlgorithmIdentifier({ algorithm: OID.rsaesOaep, parameters: AsnConvert.serialize(oaepSha256()) }),
      encryptedKey: new OctetString(encryptedKey),
    }) })]),
    encryptedContentInfo: new EncryptedContentInfo({
      contentType: OID.data,
      contentEncryptionAlgorithm: new AlgorithmIdentifier({ algorithm: OID.aes256Cbc, parameters: AsnConvert.serialize(new OctetString(iv)) }),
      encryptedContent: new EncryptedContent({ value: new OctetString(content) }),
    }),
  });
  const info = new ContentInfo({ contentType: OID.envelopedData, content: AsnConvert.serialize(enveloped) });
  return Buffer.from(AsnConvert.serialize(info));
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING's bytes. */
function subjectKeyId(spkiDer: Uint8Array): Buffer {
  const spki = AsnConvert.parse(spkiDer, SubjectPublicKeyInfo);
  return createHash('sha1').update(Buffer.from(spki.subjectPublicKey)).digest();
}

/**
 * RSAES-OAEP-ENCRYPT (RFC 8017 §7.1.1) with SHA-256, MGF1-SHA-256 and the empty
 * label. The encoding is done here, not by OpenSSL, only so that the seed comes
 * from `random` and a test vector is reproducible; the RSA step is OpenSSL's.
 */
function oaepEncrypt(key: KeyObject, message: Buffer, random: RandomSource): Buffer {
  const k = Math.ceil((key.asymmetricKeyDetails?.modulusLength ?? 0) / 8);
  const hLen = 32;
  if (message.length > k - 2 * hLen - 2) throw new EbakError('USAGE', 'the recipient RSA key is too small for OAEP-SHA-256');
  const db = Buffer.concat([sha256(Buffer.alloc(0)), Buffer.alloc(k - message.length - 2 * hLen - 2), Uint8Array.of(1), message]);
  const seed = random(hLen);
  const maskedDb = xor(db, mgf1(seed, db.length));
  const maskedSeed = xor(seed, mgf1(maskedDb, hLen));
  return publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, Buffer.concat([Uint8Array.of(0), maskedSeed, maskedDb]));
}

/** MGF1 (RFC 8017 §B.2.1) with SHA-256. */
function mgf1(seed: Buffer, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let counter = 0; blocks.length * 32 < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    blocks.push(sha256(Buffer.concat([seed, c])));
  }
  return Buffer.concat(blocks).subarray(0, length);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest();
const xor = (a: Buffer, b: Buffer) => Buffer.from(a.map((x, i) => x ^ b[i]!));

function oaepSha256(): OaepParams {
  const hash = new AlgorithmIdentifier({ algorithm: OID.sha256 }); // parameters absent, as OpenSSL writes SHA-2 ids
  const p = new OaepParams();
  p.hashAlgorithm = hash;
  p.maskGenAlgorithm = new AlgorithmIdentifier({ algorithm: OID.mgf1, parameters: AsnConvert.serialize(hash) });
  return p;
}

interface KtriParts {
  encryptedKey: ArrayBuffer;
  iv: Buffer;
  content: Buffer;
}

function parseEnvelope(der: Uint8Array): KtriParts {
  shape(berElementEnd(der, 0, 0) === der.length, 'bytes follow the ContentInfo');
  const info = parse(der, ContentInfo, 'ContentInfo');
  shape(info.contentType === OID.envelopedData, `content type ${info.contentType} is not envelopedData`);
  const env = parse(info.content, EnvelopedData, 'EnvelopedData');
  shape(env.version === 2, `EnvelopedData version ${env.version}, expected 2`);
  shape(env.originatorInfo === undefined && env.unprotectedAttrs === undefined, 'originatorInfo or unprotectedAttrs present');
  shape(env.recipientInfos.length === 1, `${env.recipientInfos.length} recipients, expected exactly 1`);
  const ktri = env.recipientInfos[0]!.ktri;
  shape(ktri !== undefined, 'the recipient is not a KeyTransRecipientInfo');
  shape(ktri.version === 2 && ktri.rid.subjectKeyIdentifier !== undefined, 'the recipient is not version 2 with a subjectKeyIdentifier');
  shape(ktri.keyEncryptionAlgorithm.algorithm === OID.rsaesOaep, `key encryption ${ktri.keyEncryptionAlgorithm.algorithm} is not RSAES-OAEP`);
  checkOaepParams(ktri.keyEncryptionAlgorithm.parameters);
  const eci = env.encryptedContentInfo;
  shape(eci.contentType === OID.data, `encrypted content type ${eci.contentType} is not data`);
  shape(eci.contentEncryptionAlgorithm.algorithm === OID.aes256Cbc, `content encryption ${eci.contentEncryptionAlgorithm.algorithm} is not AES-256-CBC`);
  const iv = Buffer.from(parse(eci.contentEncryptionAlgorithm.parameters, OctetString, 'AES-CBC IV').buffer);
  shape(iv.length === AES_BLOCK, `AES-CBC IV of ${iv.length} bytes`);
  const content = encryptedContent(eci.encryptedContent);
  shape(content.length > 0 && content.length % AES_BLOCK === 0, `encrypted content of ${content.length} bytes is not whole AES blocks`);
  return { encryptedKey: ktri.encryptedKey.buffer, iv, content };
}

/** SHA-256 for the hash and for MGF1, the empty label (pSpecified with no bytes, the default). */
function checkOaepParams(der: ArrayBuffer | null | undefined): void {
  const p = parse(der, OaepParams, 'RSAES-OAEP-params');
  shape(isSha256(p.hashAlgorithm), 'the OAEP hash is not SHA-256');
  const mgf = p.maskGenAlgorithm;
  shape(mgf?.algorithm === OID.mgf1 && isSha256(parse(mgf.parameters, AlgorithmIdentifier, 'MGF1 hash')), 'the OAEP mask is not MGF1 with SHA-256');
  const label = p.pSourceAlgorithm;
  shape(label === undefined || (label.algorithm === OID.pSpecified && parse(label.parameters, OctetString, 'OAEP label').byteLength === 0), 'the OAEP label is not empty');
}

/** AlgorithmIdentifier sha256 with absent or NULL parameters (RFC 5754 §2 allows both). */
function isSha256(a: AlgorithmIdentifier | undefined): boolean {
  if (a?.algorithm !== OID.sha256) return false;
  return a.parameters == null || Buffer.from(a.parameters).equals(NULL_DER);
}

/** Primitive [0] or, in BER as KMS may send, constructed [0] of OCTET STRING segments. */
function encryptedContent(e: EncryptedContent | undefined): Buffer {
  if (e?.value !== undefined) return Buffer.from(e.value.buffer);
  shape(e?.constructedValue !== undefined, 'the encrypted content is absent (detached content is not KMS)');
  return Buffer.concat(e.constructedValue.map((s) => Buffer.from(s.buffer)));
}

/**
 * Where the BER element starting at `at` ends (X.690 §8.1): after its definite length, or, for an
 * indefinite length, after the end-of-contents octets closing its elements. The schema parser
 * ignores bytes after the outer element; this is how they are refused.
 */
function berElementEnd(b: Uint8Array, at: number, depth: number): number {
  shape(at < b.length && depth <= 32, 'truncated or too deeply nested BER');
  let i = at + 1;
  if ((b[at]! & 0x1f) === 0x1f) while ((b[i++] ?? 0) & 0x80); // high tag number form
  const first = b[i++];
  shape(first !== undefined, 'truncated BER length');
  if (first === 0x80) {
    shape((b[at]! & 0x20) !== 0, 'indefinite length on a primitive element');
    while (!(b[i] === 0 && b[i + 1] === 0)) i = berElementEnd(b, i, depth + 1);
    return i + 2;
  }
  let length = first;
  if (first & 0x80) {
    const n = first & 0x7f;
    shape(n >= 1 && n <= 4 && i + n <= b.length, 'bad BER length');
    length = [...b.subarray(i, i + n)].reduce((acc, x) => acc * 256 + x, 0);
    i += n;
  }
  shape(i + length <= b.length, 'truncated BER element');
  return i + length;
}

function parse<T>(der: ArrayBuffer | Uint8Array | null | undefined, type: new () => T, what: string): T {
  shape(der != null, `${what} is missing`);
  try {
    return AsnConvert.parse(der, type);
  } catch (e) {
    throw new EbakError('CORRUPT', `the recipient envelope's ${what} does not parse`, { cause: e });
  }
}

function shape(ok: boolean, message: string): asserts ok {
  if (!ok) throw new EbakError('CORRUPT', `not a KMS recipient envelope: ${message}`);
}
