/**
 * `ebak vault audit verify`: proves the audit log is whole and signed.
 * Checks, for every entry in order: it parses (format v1), its seq is the
 * next one, its prev is the previous entry's hash, its hash is the hash of
 * its body, and its signature verifies under the key of a boot entry before
 * it (replicas each boot with their own key), whose attestation document verifies against the pinned root (and
 * PCRs) and binds that key (a SEV-SNP vault's boot holds SNP evidence: verified by the SNP policy). With a trusted head (the enclave's own, fetched
 * over the attested channel and signed by its current boot key), the log must
 * reach exactly there: dropped tail entries are caught. Entries after the head
 * (appended after it was fetched) are not checked against it.
 */
import { createPublicKey, verify, type X509Certificate } from 'node:crypto';
import { AttestationError, SNP_EVIDENCE_MAGIC, verifyAttestation, verifySnpEvidence } from '../../attestation/index.js';
import type { SnpTrust } from '../client/transport.js';
import { EbakError } from '../../errors.js';
import type { AuditHeadResponse } from '../protocol.js';
import { AUDIT_FORMAT, GENESIS, auditKeyBinding, encodeBody, entryHash, headMessage, type AuditBody, type StoredEntry } from './entry.js';
import type { AuditHead } from './log.js';

export interface AuditVerifyOptions {
  root: X509Certificate;
  pcrs?: Readonly<Record<number, string>>;
  allowDebug?: boolean;
  /** The SEV-SNP policy for the boots of a vault on SEV-SNP; without it their evidence is refused. */
  snp?: SnpTrust;
  /** The enclave's signed head; without it a truncated tail cannot be detected. */
  head?: AuditHeadResponse;
}

export interface AuditVerifyReport {
  entries: number;
  boots: number;
  head: AuditHead;
}

function broken(seq: number, what: string): EbakError {
  return new EbakError('AUTH_FAILED', `audit log entry ${seq}: ${what}`, { hint: 'the log was edited, reordered or had entries removed; investigate the state store' });
}

function parse(seq: number, raw: Buffer): { stored: StoredEntry; body: AuditBody } {
  try {
    const stored = JSON.parse(raw.toString('utf8')) as StoredEntry;
    const body = JSON.parse(stored.body) as AuditBody;
    if (typeof stored.hash !== 'string' || typeof stored.sig !== 'string' || body.v !== AUDIT_FORMAT) throw new Error('fields');
    if (encodeBody(body) !== stored.body) throw new Error('non-canonical body');
    return { stored, body };
  } catch (e) {
    throw broken(seq, `malformed (${(e as Error).message})`);
  }
}

export function verifyAuditLog(rows: { seq: number; entry: Buffer }[], options: AuditVerifyOptions): AuditVerifyReport {
  let head: AuditHead = { seq: 0, hash: GENESIS };
  // Every attested boot's key: replicas on one database interleave their entries, each signed by its own boot's key.
  const keys = new Map<string, ReturnType<typeof createPublicKey>>();
  let boots = 0;
  const upTo = options.head?.seq ?? Infinity;
  for (const { seq, entry } of rows) {
    if (seq > upTo) break;
    const { stored, body } = parse(seq, entry);
    if (seq !== head.seq + 1 || body.seq !== seq) throw broken(seq, `expected entry ${head.seq + 1} (an entry is missing or out of order)`);
    if (body.prev !== head.hash) throw broken(seq, 'its prev does not match the previous entry (an entry was removed or edited)');
    const hash = entryHash(stored.body);
    if (hash.toString('hex') !== stored.hash) throw broken(seq, 'its hash does not match its body (the entry was edited)');
    if (body.type === 'boot') {
      keys.set(String(body.detail?.signing_key), bootKey(seq, body, options));
      boots++;
    }
    if (keys.size === 0) throw broken(seq, 'no boot entry precedes it, so no attested key signs it');
    const sig = Buffer.from(stored.sig, 'base64');
    if (![...keys.values()].some((k) => verify(null, hash, k, sig))) throw broken(seq, 'its signature does not verify under any attested vault key');
    head = { seq, hash: stored.hash };
  }
  if (options.head) checkHead(options.head, head, keys);
  return { entries: Math.min(rows.length, head.seq), boots, head };
}

/** The enclave's head must be signed by the key of an attested boot in the log, and the log must reach it. */
function checkHead(trusted: AuditHeadResponse, head: AuditHead, keys: ReadonlyMap<string, ReturnType<typeof createPublicKey>>): void {
  if (trusted.seq !== head.seq || trusted.hash !== head.hash) {
    throw new EbakError('AUTH_FAILED', `audit log ends at entry ${head.seq} but the vault's head is entry ${trusted.seq}: entries were removed from the end or rewritten`);
  }
  const key = keys.get(trusted.signing_key);
  if (!key || !verify(null, headMessage(trusted), key, Buffer.from(trusted.sig, 'base64'))) {
    throw new EbakError('AUTH_FAILED', "the vault's audit head is not signed by the key of an attested boot in the log");
  }
}

/** The boot entry's signing key, once its attestation verifies and binds it. */
function bootKey(seq: number, body: AuditBody, options: AuditVerifyOptions) {
  const d = body.detail ?? {};
  if (typeof d.signing_key !== 'string' || typeof d.attestation !== 'string') throw broken(seq, 'boot entry without signing key or attestation');
  const spki = Buffer.from(d.signing_key, 'base64');
  const userData = bootUserData(Buffer.from(d.attestation, 'base64'), new Date(body.time), options);
  if (!userData || !auditKeyBinding(spki).equals(Buffer.from(userData))) throw broken(seq, 'the boot attestation does not bind its signing key');
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}

/** The user_data a boot attestation vouches for: a Nitro document's, or (SEV-SNP) the evidence's, bound by its report. */
function bootUserData(attestation: Buffer, at: Date, options: AuditVerifyOptions): Uint8Array | null {
  if (!attestation.subarray(0, SNP_EVIDENCE_MAGIC.length).equals(SNP_EVIDENCE_MAGIC)) {
    return verifyAttestation(attestation, { root: options.root, at, pcrs: options.pcrs ?? {}, allowDebug: options.allowDebug ?? false, maxAgeSeconds: 300 }).userData;
  }
  const snp = options.snp;
  if (!snp) throw new AttestationError('platform', 'a boot of this log attests with sev-snp and no SEV-SNP policy was given', { hint: 'pass --vault-platform sev-snp --snp-chain <pem>' });
  const { chain, roots, measurement, minTcb } = snp;
  return verifySnpEvidence(attestation, { chain, roots, measurement, at, allowDebug: options.allowDebug ?? false, ...(minTcb ? { minTcb } : {}) }).evidence.userData;
}
