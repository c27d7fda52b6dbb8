/**
 * The development SEV-SNP key hierarchy that stands in for AMD's in
 * simulation, shaped as AMD's so the real verifier (certs.ts, verify.ts)
 * accepts it only when told to trust its ARK: ARK-<product> (self-signed) →
 * SEV-<product> (the ASK), both RSA-4096 signing RSASSA-PSS SHA-384 (salt 48);
 * → SEV-VCEK, ECDSA P-384, with AMD's VCEK extensions (productName, the TCB
 * SPLs it was issued for, hwID = the chip id). Kept in memory, or persisted
 * in a directory: chain.pem (ASK then ARK, as AMD's KDS cert_chain; what
 * clients pin with --snp-chain), vcek.pem and vcek.key.pem (0600). The ARK and
 * ASK private keys are not saved: nothing issues a VCEK after creation.
 */
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { EbakError } from '../../errors.js';
import { TAG, integer, tlv } from '../der.js';
import { readDevFile, writeNewFiles, type Issuer, type Leaf } from '../devca.js';
import { buildCertificate, type Name } from '../x509.js';
import { readCertificates } from '../chain.js';
import { AMD_OID, keyExtensions } from './certs.js';
import { productInName, type Product, type Tcb } from './product.js';

export interface DevSnpChain {
  product: Product;
  ark: X509Certificate;
  ask: X509Certificate;
  /** The chip's VCEK for `tcb`, and its private key (the chip's, in the simulated firmware). */
  vcek: Leaf;
  /** 64 bytes, as the VCEK's hwID. */
  chipId: Uint8Array;
  tcb: Tcb;
}

export interface DevSnpChainOptions {
  product?: 'Milan' | 'Genoa';
  chipId?: Uint8Array;
  tcb?: Tcb;
}

/** A Milan TCB as GCP reported it in 2024 (BL 3, TEE 0, SNP 8, microcode 115). */
export const DEV_TCB: Tcb = { bl: 3, tee: 0, snp: 8, ucode: 115 };
const FILES = { chain: 'chain.pem', vcek: 'vcek.pem', vcekKey: 'vcek.key.pem' } as const;
const YEAR = 365 * 24 * 3600 * 1000;
const name = (cn: string): Name => [['C', 'US'], ['O', 'ebak development'], ['OU', 'simulated sev-snp'], ['CN', cn]];
const seconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

/** A new ARK and ASK (in memory only, with their keys, so tests can issue more VCEKs) and a VCEK for one chip. */
export function createDevSnpChain(now: Date = new Date(), o: DevSnpChainOptions = {}): DevSnpChain & { askIssuer: Issuer } {
  const product = o.product ?? 'Milan';
  const notBefore = seconds(now.getTime() - 3600 * 1000);
  const rsa = () => generateKeyPairSync('rsa', { modulusLength: 4096 });
  const arkKey = rsa();
  const arkName = name(`ARK-${product}`);
  const ark = new X509Certificate(buildCertificate({
    subject: arkName, issuer: arkName, subjectKey: arkKey.publicKey, issuerKey: arkKey.privateKey, issuerPublicKey: arkKey.publicKey,
    notBefore, notAfter: seconds(now.getTime() + 25 * YEAR), ca: { pathLen: 1 },
  }));
  const askKey = rsa();
  const askName = name(`SEV-${product}`);
  const ask = new X509Certificate(buildCertificate({
    subject: askName, issuer: arkName, subjectKey: askKey.publicKey, issuerKey: arkKey.privateKey, issuerPublicKey: arkKey.publicKey,
    notBefore, notAfter: seconds(now.getTime() + 25 * YEAR), ca: { pathLen: 0 },
  }));
  const askIssuer: Issuer = { cert: ask, key: askKey.privateKey, name: askName };
  const chipId = o.chipId ?? randomBytes(64);
  const tcb = o.tcb ?? DEV_TCB;
  return { product, ark, ask, askIssuer, chipId, tcb, vcek: issueVcek(askIssuer, product, chipId, tcb, now) };
}

/** A VCEK as AMD's KDS issues it: for one chip (hwID) at one TCB, valid 7 years. */
export function issueVcek(ask: Issuer, product: Product, chipId: Uint8Array, tcb: Tcb, now: Date): Leaf {
  if (chipId.length !== 64) throw new EbakError('USAGE', 'a chip id is 64 bytes');
  const key = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const spl = (n: number) => integer(BigInt(n));
  const der = buildCertificate({
    subject: name('SEV-VCEK'), issuer: ask.name, subjectKey: key.publicKey, issuerKey: ask.key, issuerPublicKey: ask.cert.publicKey,
    notBefore: seconds(now.getTime() - 3600 * 1000), notAfter: seconds(now.getTime() + 7 * YEAR), ca: false,
    extra: [
      [AMD_OID.productName, tlv(TAG.IA5, Buffer.from(`${product}-B0`, 'latin1'))],
      [AMD_OID.blSpl, spl(tcb.bl)], [AMD_OID.teeSpl, spl(tcb.tee)], [AMD_OID.snpSpl, spl(tcb.snp)], [AMD_OID.ucodeSpl, spl(tcb.ucode)],
      [AMD_OID.hwId, chipId], // the raw chip id is the extnValue, as AMD's
    ],
  });
  return { cert: new X509Certificate(der), key: key.privateKey };
}

/** Writes chain.pem, vcek.pem and vcek.key.pem into `dir` (0700); refuses to overwrite (ALREADY_EXISTS). */
export async function saveDevSnpChain(chain: DevSnpChain, dir: string): Promise<void> {
  await writeNewFiles(dir, 'dev SEV-SNP chain', [
    [FILES.vcekKey, chain.vcek.key.export({ type: 'pkcs8', format: 'pem' }) as string, 0o600],
    [FILES.vcek, chain.vcek.cert.toString(), 0o644],
    [FILES.chain, chain.ask.toString() + chain.ark.toString(), 0o644],
  ]);
}

/** Reads a chain saved by saveDevSnpChain; the chip id and TCB come from the VCEK's extensions. */
export async function loadDevSnpChain(dir: string): Promise<DevSnpChain> {
  const what = 'dev SEV-SNP chain';
  const [chainPem, vcekPem, keyPem] = [await readDevFile(dir, FILES.chain, what), await readDevFile(dir, FILES.vcek, what), await readDevFile(dir, FILES.vcekKey, what)];
  try {
    return parseChain(chainPem, vcekPem, createPrivateKey(keyPem));
  } catch (e) {
    throw new EbakError('CORRUPT', `the ${what} in ${dir} is damaged or inconsistent`, { cause: e, hint: 'create a new one in an empty directory' });
  }
}

function parseChain(chainPem: string, vcekPem: string, key: KeyObject): DevSnpChain {
  const [ask, ark] = readCertificates(Buffer.from(chainPem), FILES.chain);
  const vcek = new X509Certificate(vcekPem);
  const product = productInName((/CN=([^\n]*)/.exec(ark?.subject ?? '') ?? [])[1] ?? '');
  if (!ask || !ark || product === null || !vcek.verify(ask.publicKey) || !ask.verify(ark.publicKey)) throw new Error('the certificates do not chain');
  const spki = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(vcek.publicKey))) throw new Error('the VCEK key does not match its certificate');
  const ext = keyExtensions(vcek, product);
  if (ext.hwId?.length !== 64) throw new Error('the VCEK has no 64-byte hwID');
  return { product, ark, ask, vcek: { cert: vcek, key }, chipId: ext.hwId, tcb: ext.tcb };
}
