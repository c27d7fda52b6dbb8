/**
 * The vault's TLS identity: a P-256 key generated at boot, in vault memory
 * only, and a self-signed certificate for it (the attestation module's DER
 * writer). Clients trust it only because the attestation document's
 * public_key is this key's SPKI (client/transport.ts).
 */
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { buildCertificate, type Name } from '../../attestation/x509.js';

export interface TlsIdentity {
  key: string; // PEM, PKCS#8
  cert: string; // PEM
  spki: Buffer; // DER SubjectPublicKeyInfo, what the attestation binds
  notAfter: Date;
}

const NAME: Name = [['O', 'ebak'], ['CN', 'ebak vault (attested)']];

export function createTlsIdentity(now: Date, lifetimeSeconds: number): TlsIdentity {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const whole = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const notAfter = whole(now.getTime() + lifetimeSeconds * 1000);
  const der = buildCertificate({
    subject: NAME, issuer: NAME, subjectKey: pair.publicKey, issuerKey: pair.privateKey, issuerPublicKey: pair.publicKey,
    notBefore: whole(Math.min(now.getTime(), notAfter.getTime()) - 60_000), notAfter, ca: false,
  });
  return {
    key: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: new X509Certificate(der).toString(),
    spki: pair.publicKey.export({ type: 'spki', format: 'der' }),
    notAfter,
  };
}
