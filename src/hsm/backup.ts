/**
 * HSM backup and restore, after the AWS CloudHSM backup design: a fresh
 * AES-256 backup encryption key (BEK) per backup, generated in the token; the
 * BEK wrapped under the cluster's key-backup key (KBK), which is installed by
 * the security officer into every token of a cluster and never leaves them.
 *
 * PKCS#11 adaptation (docs/hsm.md, "Backup"): long-term keys carry
 * CKA_WRAP_WITH_TRUSTED, so only a CKA_TRUSTED key may wrap them, and only the
 * SO can make a key trusted. The per-backup BEK is made by the user session,
 * so it cannot be trusted; each key is therefore wrapped under the KBK and the
 * whole manifest (metadata + wrapped keys) is encrypted and authenticated
 * under the BEK with AES-256-GCM, inside the token.
 *
 * File format v1:
 *   0 4 magic "EBHK" | 4 1 version (1) | 5 1 n | 6 n KBK label (ASCII)
 *   | 2 m (u16 BE) | m wrapped BEK (RFC 3394 under KBK) | 12 iv | GCM ciphertext ‖ tag(16)
 *   AAD = every byte before the iv. Plaintext = JSON manifest (docs/hsm.md).
 */
import { EbakError } from '../errors.js';
import type { AuditHook } from './hsm.js';
import { decodeMeta, encodeMeta } from './lifecycle.js';
import type { KeyMeta } from './lifecycle.js';
import { acquireModule, ck, findSlot, openSession, releaseModule } from './pkcs11/module.js';
import type { Handle } from './pkcs11/module.js';
import { KBK_LABEL, Token } from './pkcs11/token.js';

const MAGIC = Buffer.from('EBHK', 'ascii');
const FORMAT = 1;
const KBK_BYTES = 32;

export interface BackupEntry {
  readonly meta: KeyMeta;
  /** Wrapped under the KBK; undefined for a destroyed version (metadata tombstone only). */
  readonly wrapped: Buffer | undefined;
}

export interface ClusterKeyTarget {
  readonly module: string;
  readonly token: string;
  /** The token's security-officer PIN: only the SO can make a key CKA_TRUSTED. */
  readonly soPin: string;
}

/**
 * Provisioning step, run once per token of a cluster with the same `kbk`:
 * imports it as a trusted, sensitive, non-extractable, unmodifiable key.
 * The caller generates the 32 bytes, installs them into every token, then
 * zeroes them: this is the only moment the KBK exists outside an HSM.
 */
export async function installClusterKey(target: ClusterKeyTarget, kbk: Uint8Array, audit?: AuditHook): Promise<void> {
  if (kbk.length !== KBK_BYTES) throw new EbakError('USAGE', `a cluster key-backup key is ${KBK_BYTES} bytes, got ${kbk.length}`);
  const p11 = acquireModule(target.module);
  try {
    const slot = findSlot(p11, target.module, target.token);
    const session = openSession(p11, slot, target.token, 'so', target.soPin);
    try {
      const token = new Token(p11, session, target.token);
      if (token.findKey(KBK_LABEL) !== undefined) {
        throw new EbakError('ALREADY_EXISTS', `HSM token "${target.token}" already holds a cluster key-backup key; a token belongs to one cluster`);
      }
      const value = Buffer.from(kbk);
      try {
        token.create([
          { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
          { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
          { type: ck.CKA_VALUE, value },
          { type: ck.CKA_TOKEN, value: true },
          // An SO session can only create public objects; usage still needs a user session's keys.
          { type: ck.CKA_PRIVATE, value: false },
          { type: ck.CKA_TRUSTED, value: true },
          { type: ck.CKA_SENSITIVE, value: true },
          { type: ck.CKA_EXTRACTABLE, value: false },
          { type: ck.CKA_MODIFIABLE, value: false },
          { type: ck.CKA_WRAP, value: true },
          { type: ck.CKA_UNWRAP, value: true },
          { type: ck.CKA_ENCRYPT, value: false },
          { type: ck.CKA_DECRYPT, value: false },
          { type: ck.CKA_LABEL, value: KBK_LABEL },
        ], 'installing the cluster key-backup key');
      } finally {
        value.fill(0);
      }
      p11.C_Logout(session);
    } finally {
      p11.C_CloseSession(session);
    }
  } finally {
    releaseModule(target.module);
  }
  await audit?.({ type: 'cluster.install', at: new Date(), detail: target.token });
}

function kbkOf(token: Token): Handle {
  const h = token.findKey(KBK_LABEL);
  if (h === undefined) {
    throw new EbakError('HSM', `HSM token "${token.label}" has no cluster key-backup key; install the cluster's KBK first (\`ebak hsm init --cluster-key-file ... --so-pin-file ...\`)`);
  }
  return h;
}

function header(wrappedBek: Buffer): Buffer {
  const label = Buffer.from(KBK_LABEL, 'ascii');
  const h = Buffer.alloc(6 + label.length + 2);
  MAGIC.copy(h, 0);
  h[4] = FORMAT;
  h[5] = label.length;
  label.copy(h, 6);
  h.writeUInt16BE(wrappedBek.length, 6 + label.length);
  return Buffer.concat([h, wrappedBek]);
}

export function writeBackup(token: Token, keys: readonly { meta: KeyMeta; key: Handle | undefined }[], now: Date): Buffer {
  const kbk = kbkOf(token);
  const bek = token.generateTransientAes();
  try {
    const manifest = Buffer.from(JSON.stringify({
      format: 1,
      createdAt: now.toISOString(),
      keys: keys.map(({ meta, key }) => ({
        meta: encodeMeta(meta).toString('base64'),
        wrapped: key === undefined ? null : token.wrap(kbk, key, `exporting ${meta.ring} v${meta.version} under the cluster KBK`).toString('base64'),
      })),
    }), 'utf8');
    const head = header(token.wrap(kbk, bek, 'wrapping the backup encryption key'));
    return Buffer.concat([head, token.gcmEncrypt(bek, manifest, head)]);
  } finally {
    token.destroy(bek);
  }
}

function malformed(what: string): EbakError {
  return new EbakError('CORRUPT', `HSM backup file is malformed (${what}); it is truncated or not an ebak HSM backup`);
}

/** Authenticates the whole file (GCM inside the token) before parsing the manifest. */
export function readBackup(token: Token, file: Uint8Array): { entries: BackupEntry[]; kbk: Handle } {
  const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (b.length < 6 || !b.subarray(0, 4).equals(MAGIC)) throw malformed('bad magic');
  if (b[4] !== FORMAT) throw new EbakError('UNSUPPORTED_VERSION', `HSM backup format ${b[4]} is unknown to this build; upgrade ebak`);
  const n = b[5]!;
  if (b.length < 8 + n) throw malformed('truncated header');
  if (b.subarray(6, 6 + n).toString('ascii') !== KBK_LABEL) throw malformed('unknown key-backup key label');
  const m = b.readUInt16BE(6 + n);
  const headEnd = 8 + n + m;
  if (m < 24 || m > 64 || b.length < headEnd + 12 + 16) throw malformed('bad wrapped-key length');
  const kbk = kbkOf(token);
  const bek = token.unwrap(kbk, b.subarray(8 + n, headEnd), [
    { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
    { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: false },
    { type: ck.CKA_DECRYPT, value: true },
  ]);
  let manifest: Buffer;
  try {
    manifest = token.gcmDecrypt(bek, b.subarray(headEnd), b.subarray(0, headEnd));
  } finally {
    token.destroy(bek);
  }
  return { entries: parseManifest(manifest), kbk };
}

function parseManifest(bytes: Buffer): BackupEntry[] {
  let o: { format?: unknown; keys?: unknown };
  try {
    o = JSON.parse(bytes.toString('utf8')) as typeof o;
  } catch {
    throw malformed('manifest is not JSON');
  }
  if (o.format !== 1) throw new EbakError('UNSUPPORTED_VERSION', `HSM backup manifest format ${String(o.format)} is unknown; upgrade ebak`);
  if (!Array.isArray(o.keys)) throw malformed('manifest has no key list');
  return o.keys.map((k: { meta?: unknown; wrapped?: unknown }) => {
    if (typeof k.meta !== 'string' || (k.wrapped !== null && typeof k.wrapped !== 'string')) throw malformed('bad key entry');
    const meta = decodeMeta(Buffer.from(k.meta, 'base64'));
    if ((k.wrapped === null) !== (meta.state === 'destroyed')) throw malformed('key entry state and key disagree');
    return { meta, wrapped: k.wrapped === null ? undefined : Buffer.from(k.wrapped, 'base64') };
  });
}
