/**
 * The development CA that stands in for AWS's Nitro PKI in simulation:
 * root → intermediate → per-enclave leaf, all ECDSA P-384 (as AWS's are).
 * Kept in memory, or persisted as PEM files in a directory (keys 0600).
 */
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EbakError } from '../errors.js';
import { buildCertificate, type Name } from './x509.js';

export interface Issuer {
  cert: X509Certificate;
  key: KeyObject; // private
  name: Name;
}

export interface DevCa {
  root: Issuer;
  intermediate: Issuer;
}

export interface Leaf {
  cert: X509Certificate;
  key: KeyObject; // private
}

const ROOT_NAME: Name = [['C', 'US'], ['O', 'ebak development'], ['OU', 'simulated nitro'], ['CN', 'ebak-dev-nitro-root']];
const INTERMEDIATE_NAME: Name = [['C', 'US'], ['O', 'ebak development'], ['OU', 'simulated nitro'], ['CN', 'ebak-dev-nitro-intermediate']];
const FILES = { root: 'root.pem', rootKey: 'root.key.pem', intermediate: 'intermediate.pem', intermediateKey: 'intermediate.key.pem' } as const;
const YEAR = 365 * 24 * 3600 * 1000;

const newKey = () => generateKeyPairSync('ec', { namedCurve: 'P-384' });
/** Certificates carry whole seconds. */
const seconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);

export function createDevCa(now: Date = new Date()): DevCa {
  const notBefore = seconds(now.getTime() - 3600 * 1000); // tolerate an hour of clock skew
  const rootKey = newKey();
  const rootCert = buildCertificate({
    subject: ROOT_NAME, issuer: ROOT_NAME, subjectKey: rootKey.publicKey, issuerKey: rootKey.privateKey,
    issuerPublicKey: rootKey.publicKey, notBefore, notAfter: seconds(now.getTime() + 20 * YEAR), ca: { pathLen: 1 },
  });
  const interKey = newKey();
  const interCert = buildCertificate({
    subject: INTERMEDIATE_NAME, issuer: ROOT_NAME, subjectKey: interKey.publicKey, issuerKey: rootKey.privateKey,
    issuerPublicKey: rootKey.publicKey, notBefore, notAfter: seconds(now.getTime() + 5 * YEAR), ca: { pathLen: 0 },
  });
  return {
    root: { cert: new X509Certificate(rootCert), key: rootKey.privateKey, name: ROOT_NAME },
    intermediate: { cert: new X509Certificate(interCert), key: interKey.privateKey, name: INTERMEDIATE_NAME },
  };
}

/** A leaf for one enclave, valid `lifetimeSeconds` from `now` (NSM's leaves live about three hours). */
export function issueLeaf(ca: DevCa, moduleId: string, now: Date, lifetimeSeconds = 3 * 3600): Leaf {
  const key = newKey();
  const name: Name = [['C', 'US'], ['O', 'ebak development'], ['OU', 'simulated nitro'], ['CN', moduleId]];
  const der = buildCertificate({
    subject: name, issuer: ca.intermediate.name, subjectKey: key.publicKey, issuerKey: ca.intermediate.key,
    issuerPublicKey: ca.intermediate.cert.publicKey, notBefore: seconds(now.getTime()),
    notAfter: seconds(now.getTime() + lifetimeSeconds * 1000), ca: false,
  });
  return { cert: new X509Certificate(der), key: key.privateKey };
}

/** Writes the CA as PEM files into `dir` (created 0700); refuses to overwrite an existing CA. */
export async function saveDevCa(ca: DevCa, dir: string): Promise<void> {
  const pkcs8 = (k: KeyObject) => k.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeNewFiles(dir, 'dev CA', [
    [FILES.rootKey, pkcs8(ca.root.key), 0o600],
    [FILES.intermediateKey, pkcs8(ca.intermediate.key), 0o600],
    [FILES.root, ca.root.cert.toString(), 0o644],
    [FILES.intermediate, ca.intermediate.cert.toString(), 0o644],
  ]);
}

/** Creates `dir` (0700) and writes each [file, text, mode], refusing to overwrite any (ALREADY_EXISTS). */
export async function writeNewFiles(dir: string, what: string, files: ReadonlyArray<readonly [string, string, number]>): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const [file, text, mode] of files) {
    try {
      await writeFile(join(dir, file), text, { flag: 'wx', mode });
    } catch (e) {
      const exists = (e as NodeJS.ErrnoException).code === 'EEXIST';
      throw new EbakError(exists ? 'ALREADY_EXISTS' : 'IO', `cannot write ${what} file ${join(dir, file)}`, { cause: e, hint: exists ? `load the existing ${what} or choose an empty directory` : undefined });
    }
  }
}

/** One file of a saved dev CA or chain (NOT_FOUND when missing). */
export async function readDevFile(dir: string, file: string, what: string): Promise<string> {
  try {
    return await readFile(join(dir, file), 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new EbakError(missing ? 'NOT_FOUND' : 'IO', `cannot read ${what} file ${join(dir, file)}`, { cause: e });
  }
}

/** Reads a CA saved by saveDevCa and checks that its parts belong together. */
export async function loadDevCa(dir: string): Promise<DevCa> {
  const read = (file: string) => readDevFile(dir, file, 'dev CA');
  try {
    const root = issuer(await read(FILES.root), await read(FILES.rootKey), ROOT_NAME);
    const intermediate = issuer(await read(FILES.intermediate), await read(FILES.intermediateKey), INTERMEDIATE_NAME);
    if (!intermediate.cert.checkIssued(root.cert) || !intermediate.cert.verify(root.cert.publicKey)) throw new Error('intermediate not issued by root');
    return { root, intermediate };
  } catch (e) {
    if (e instanceof EbakError) throw e;
    throw new EbakError('CORRUPT', `dev CA in ${dir} is damaged or inconsistent`, { cause: e, hint: 'create a new dev CA' });
  }
}

function issuer(certPem: string, keyPem: string, name: Name): Issuer {
  const cert = new X509Certificate(certPem);
  const key = createPrivateKey(keyPem);
  const pub = (k: KeyObject) => k.export({ type: 'spki', format: 'der' });
  if (Buffer.compare(pub(createPublicKey(key)), pub(cert.publicKey)) !== 0) throw new Error('key does not match certificate');
  return { cert, key, name };
}
