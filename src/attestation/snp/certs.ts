/**
 * The SEV-SNP key hierarchy: a VCEK (per chip and TCB) or VLEK (per cloud
 * provider) signed by the product's ASK (or ASVK for VLEKs), signed by the
 * product's ARK, which must be AMD's pinned root (RSA-PSS SHA-384 above the
 * key; OpenSSL, through X509Certificate.verify, checks RSA-PSS). Also the
 * AMD extensions of the key certificate (AMD "Versioned Chip Endorsement Key
 * (VCEK) Certificate and KDS Interface Specification").
 */
import { X509Certificate } from 'node:crypto';
import { AttestationError, ensure } from '../errors.js';
import { decodeSmallInteger, readTlv } from '../der.js';
import { extensionValues } from '../x509.js';
import { linkage, readCertificates, validAt } from '../chain.js';
import { AMD_ARK_SHA256, productInName, type Product, type Tcb } from './product.js';
import type { SigningKey } from './report.js';

/** AMD's OIDs under 1.3.6.1.4.1.3704.1 (KDS specification, table "VCEK extensions"). */
export const AMD_OID = {
  productName: '1.3.6.1.4.1.3704.1.2',
  blSpl: '1.3.6.1.4.1.3704.1.3.1',
  teeSpl: '1.3.6.1.4.1.3704.1.3.2',
  snpSpl: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSpl: '1.3.6.1.4.1.3704.1.3.8',
  fmcSpl: '1.3.6.1.4.1.3704.1.3.9',
  hwId: '1.3.6.1.4.1.3704.1.4',
  cspId: '1.3.6.1.4.1.3704.1.5',
} as const;

export interface SnpKeyChain {
  key: X509Certificate;
  ask: X509Certificate;
  ark: X509Certificate;
  product: Product;
  kind: Exclude<SigningKey, 'none'>;
}

const cn = (name: string) => /(?:^|\n)CN=([^\n]*)/.exec(name)?.[1] ?? '';

/**
 * Orders and checks key ← ASK ← ARK: the ARK must be self-signed and one of
 * AMD's pinned roots (AMD_ARK_SHA256) — or, when `roots` is given, byte for
 * byte one of those (a development chain) — the ASK of the
 * same product, and the key of the kind its name says (SEV-VCEK / SEV-VLEK).
 * Every certificate must be valid at `at` (ms).
 */
export function verifySnpChain(keyCert: Uint8Array, chain: Uint8Array, at: number, roots?: readonly X509Certificate[]): SnpKeyChain {
  const keys = readCertificates(keyCert, 'the VCEK/VLEK certificate');
  const [key] = keys;
  ensure(key !== undefined, 'chain', 'the VCEK/VLEK file holds no certificate');
  const certs = readCertificates(chain, 'the ASK/ARK chain').filter((c) => c.fingerprint256 !== key.fingerprint256);
  const ark = certs.find((c) => c.subject === c.issuer);
  const ask = certs.find((c) => c !== ark && c.issuer === ark?.subject);
  ensure(ark !== undefined && ask !== undefined, 'chain', 'the chain must hold the ASK (or ASVK) and the self-signed ARK');
  const product = productInName(cn(ark.subject));
  ensure(product !== null, 'product', `the ARK "${cn(ark.subject)}" names no known product`);
  const pinned = roots ? roots.some((r) => r.raw.equals(ark.raw)) : ark.fingerprint256 === AMD_ARK_SHA256[product];
  ensure(pinned, 'root', `the ARK is not ${roots ? 'a pinned' : "AMD's pinned"} ARK-${product}`);
  ensure(productInName(cn(ask.subject)) === product, 'product', `the ASK "${cn(ask.subject)}" is not a ${product} key`);
  linkage(ark, ark, 'the ARK', 'the ARK', 1);
  linkage(ask, ark, 'the ASK', 'the ARK', 0);
  linkage(key, ask, 'the VCEK/VLEK', 'the ASK', 0);
  const kind = keyKind(key, ask);
  for (const [cert, label] of [[key, kind], [ask, 'the ASK'], [ark, 'the ARK']] as const) validAt(cert, at, 0, label);
  return { key, ask, ark, product, kind };
}

function keyKind(key: X509Certificate, ask: X509Certificate): 'VCEK' | 'VLEK' {
  const name = cn(key.subject);
  ensure(name === 'SEV-VCEK' || name === 'SEV-VLEK', 'key', `the key certificate's CN "${name}" is neither SEV-VCEK nor SEV-VLEK`);
  const kind = name === 'SEV-VCEK' ? 'VCEK' : 'VLEK';
  ensure(cn(ask.subject).startsWith('SEV-VLEK-') === (kind === 'VLEK'), 'key', `a ${kind} must be signed by the ${kind === 'VLEK' ? 'ASVK' : 'ASK'}`);
  return kind;
}

/** The AMD extensions of a VCEK/VLEK: product name, the TCB it was issued for and (VCEK) the chip id. */
export interface KeyExtensions {
  productName: string | null;
  tcb: Tcb;
  hwId: Uint8Array | null;
  cspId: string | null;
}

export function keyExtensions(key: X509Certificate, product: Product): KeyExtensions {
  return guard(() => {
    const ext = extensionValues(key.raw);
    const spl = (oid: string) => {
      const v = ext.get(oid);
      if (v === undefined) throw new RangeError(`extension ${oid} missing`);
      return decodeSmallInteger(readTlv(v, 0));
    };
    const text = (oid: string) => {
      const v = ext.get(oid);
      return v === undefined ? null : Buffer.from(readTlv(v, 0).content).toString('latin1');
    };
    const tcb: Tcb = { bl: spl(AMD_OID.blSpl), tee: spl(AMD_OID.teeSpl), snp: spl(AMD_OID.snpSpl), ucode: spl(AMD_OID.ucodeSpl) };
    if (product === 'Turin') tcb.fmc = spl(AMD_OID.fmcSpl);
    return { productName: text(AMD_OID.productName), tcb, hwId: hwId(ext.get(AMD_OID.hwId)), cspId: text(AMD_OID.cspId) };
  }, 'the key certificate has malformed AMD extensions');
}

/** hwID is the raw chip id as the extnValue: 64 bytes (Milan, Genoa) or 8 (Turin). */
function hwId(value: Uint8Array | undefined): Uint8Array | null {
  if (value === undefined) return null;
  if (value.length !== 64 && value.length !== 8) throw new RangeError('hwID is neither 64 nor 8 bytes');
  return value;
}

function guard<T>(fn: () => T, detail: string): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AttestationError) throw e;
    throw new AttestationError('key', detail, { cause: e });
  }
}
