/**
 * `ebak vault audit verify`: proves the audit log is whole and signed.
 * Checks, for every entry in order: it parses (format v1), its seq is the
 * next one, its prev is the previous entry's hash, its hash is the hash of
 * its body, and its signature verifies under the key of the latest boot
 * entry, whose attestation document verifies against the pinned root (and
 * PCRs) and binds that key. With a trusted head (the sealed head read through
 * the HSM), the log must end exactly there: dropped tail entries are caught.
 */
import { createPublicKey, verify, type X509Certificate } from 'node:crypto';
import { verifyAttestation } from '../../attestation/index.js';
import { EbakError } from '../../errors.js';
import { AUDIT_FORMAT, GENESIS, auditKeyBinding, encodeBody, entryHash, type AuditBody, type StoredEntry } from './entry.js';
import type { AuditHead } from './log.js';

export interface AuditVerifyOptions {
  root: X509Certificate;
  pcrs?: Readonly<Record<number, string>>;
  allowDebug?: boolean;
  /** The trusted head; without it a truncated tail cannot be detected. */
  head?: AuditHead;
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
  let key: ReturnType<typeof createPublicKey> | undefined;
  let boots = 0;
  for (const { seq, entry } of rows) {
    const { stored, body } = parse(seq, entry);
    if (seq !== head.seq + 1 || body.seq !== seq) throw broken(seq, `expected entry ${head.seq + 1} (an entry is missing or out of order)`);
    if (body.prev !== head.hash) throw broken(seq, 'its prev does not match the previous entry (an entry was removed or edited)');
    const hash = entryHash(stored.body);
    if (hash.toString('hex') !== stored.hash) throw broken(seq, 'its hash does not match its body (the entry was edited)');
    if (body.type === 'boot') {
      key = bootKey(seq, body, options);
      boots++;
    }
    if (!key) throw broken(seq, 'no boot entry precedes it, so no attested key signs it');
    if (!verify(null, hash, key, Buffer.from(stored.sig, 'base64'))) throw broken(seq, 'its signature does not verify under the attested vault key');
    head = { seq, hash: stored.hash };
  }
  if (options.head && (options.head.seq !== head.seq || options.head.hash !== head.hash)) {
    throw new EbakError('AUTH_FAILED', `audit log ends at entry ${head.seq} but the vault's sealed head is entry ${options.head.seq}: entries were removed from the end`);
  }
  return { entries: rows.length, boots, head };
}

/** The boot entry's signing key, once its attestation verifies and binds it. */
function bootKey(seq: number, body: AuditBody, options: AuditVerifyOptions) {
  const d = body.detail ?? {};
  if (typeof d.signing_key !== 'string' || typeof d.attestation !== 'string') throw broken(seq, 'boot entry without signing key or attestation');
  const spki = Buffer.from(d.signing_key, 'base64');
  const doc = verifyAttestation(Buffer.from(d.attestation, 'base64'), {
    root: options.root, at: new Date(body.time), pcrs: options.pcrs ?? {}, allowDebug: options.allowDebug ?? false, maxAgeSeconds: 300,
  });
  if (!doc.userData || !auditKeyBinding(spki).equals(Buffer.from(doc.userData))) throw broken(seq, 'the boot attestation does not bind its signing key');
  return createPublicKey({ key: spki, format: 'der', type: 'spki' });
}
