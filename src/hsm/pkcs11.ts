/**
 * The Hsm interface over a PKCS#11 token: SoftHSM2 locally, AWS CloudHSM in
 * production (same code, other module path and PIN; docs/hsm.md). Key
 * material stays in the token; key-version metadata lives next to each key in
 * a private CKO_DATA object (CKA_APPLICATION "ebak-hsm", JSON, lifecycle.ts).
 *
 * Calls are synchronous Cryptoki calls behind an async interface: one session,
 * one operation at a time, which is what a PKCS#11 session allows.
 */
import { EbakError, isEbakError } from '../errors.js';
import { BLOB_KIND, encodeBlob, encodeHeader, parseBlob } from './blob.js';
import type { ParsedBlob } from './blob.js';
import { readBackup, writeBackup } from './backup.js';
import { checkRingName, DEFAULT_POLICY } from './hsm.js';
import type { AuditEvent, Hsm, HsmOptions, HsmSessions, KeyPolicy, KeyPurpose, KeyVersion, LegacyCounters, RestoreReport, RollbackRegister, SessionOptions } from './hsm.js';
import { checkUse, currentOf, decodeMeta, encodeMeta, newMeta, withCurrent } from './lifecycle.js';
import type { KeyMeta, Use } from './lifecycle.js';
import { acquireModule, ck, findSlot, openSession, releaseModule, requireMechanisms } from './pkcs11/module.js';
import type { Handle, Pkcs11Config } from './pkcs11/module.js';
import { TokenCounters } from './pkcs11/counters.js';
import { SessionPool } from './pkcs11/pool.js';
import { TokenRegister } from './pkcs11/register.js';
import { APPLICATION, keyLabel, longTermKey, Token, usage } from './pkcs11/token.js';

export type { Pkcs11Config } from './pkcs11/module.js';

type Template = ReturnType<typeof longTermKey>;

interface Entry {
  meta: KeyMeta;
  data: Handle;
}

const STATE_RANK = { active: 0, revoked: 1, destroyed: 2 } as const;

/** Of two metadata copies (a crash mid-update), the more restrictive one wins. */
function stricter(a: KeyMeta, b: KeyMeta): boolean {
  return STATE_RANK[a.state] - STATE_RANK[b.state] > 0 || (a.state === b.state && a.unwrapUntil < b.unwrapUntil);
}

const MIN_SECRET = 16;
const MAX_SECRET = 512;

export class Pkcs11Hsm implements Hsm {
  private readonly entries = new Map<string, Entry>();
  private readonly handles = new Map<string, Handle>();
  private closed = false;

  private constructor(
    private readonly config: Pkcs11Config,
    readonly token: Token,
    private readonly options: HsmOptions,
  ) {
    this.counters = new TokenCounters(token);
    this.register = new TokenRegister(token);
  }

  readonly counters: LegacyCounters;
  readonly register: RollbackRegister;

  /** Opens and logs in; fails with a one-line EbakError('HSM') naming the fix. */
  static async open(config: Pkcs11Config, options: HsmOptions = {}): Promise<Pkcs11Hsm> {
    const p11 = acquireModule(config.module);
    try {
      const slot = findSlot(p11, config.module, config.token);
      requireMechanisms(p11, slot, config.token, ['CKM_AES_KEY_GEN', 'CKM_AES_KEY_WRAP']);
      const session = openSession(p11, slot, config.token, 'user', config.pin);
      const hsm = new Pkcs11Hsm(config, new Token(p11, session, config.token), options);
      hsm.loadMeta();
      return hsm;
    } catch (e) {
      releaseModule(config.module);
      throw e;
    }
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private async audit(event: Omit<AuditEvent, 'at'>): Promise<void> {
    await this.options.audit?.({ ...event, at: this.now() });
  }

  private loadMeta(): void {
    this.entries.clear();
    this.handles.clear();
    const found = this.token.find([{ type: ck.CKA_CLASS, value: ck.CKO_DATA }, { type: ck.CKA_APPLICATION, value: APPLICATION }]);
    for (const data of found) {
      const meta = decodeMeta(this.token.attr(data, ck.CKA_VALUE));
      const label = keyLabel(meta.ring, meta.version);
      const seen = this.entries.get(label);
      if (seen === undefined || stricter(meta, seen.meta)) this.entries.set(label, { meta, data });
    }
  }

  private metas(): KeyMeta[] {
    return [...this.entries.values()].map((e) => e.meta);
  }

  private entry(ring: string, version: number): Entry {
    const label = keyLabel(ring, version);
    // Another process (a vault replica) may have rotated: look again once.
    if (!this.entries.has(label)) this.loadMeta();
    const e = this.entries.get(label);
    if (e === undefined) throw new EbakError('HSM', `HSM token "${this.config.token}" has no key ${ring} v${version}; restore the token from backup or use the token that made this blob`);
    return e;
  }

  private handle(meta: KeyMeta): Handle {
    const label = keyLabel(meta.ring, meta.version);
    let h = this.handles.get(label);
    if (h === undefined) {
      h = this.token.findKey(label);
      if (h === undefined) throw new EbakError('HSM', `HSM key object ${label} is missing from token "${this.config.token}" although its metadata exists; restore the token from backup`);
      this.handles.set(label, h);
    }
    return h;
  }

  private current(ring: string): KeyMeta {
    const m = currentOf(this.metas(), checkRingName(ring));
    if (m === undefined) throw new EbakError('HSM', `HSM key ring "${ring}" has no active version; create it with \`ebak hsm init --ring ${ring}\` or rotate it`);
    return m;
  }

  /** Resolves and checks the key for `use`, per lifecycle.ts. */
  private usable(meta: KeyMeta, use: Use, purpose: KeyPurpose): Handle {
    if (meta.purpose !== purpose) {
      throw new EbakError('USAGE', `HSM key ring "${meta.ring}" is a ${meta.purpose} ring; use ${meta.purpose === 'wrap' ? 'wrap/unwrap' : 'encrypt/decrypt'} with it`);
    }
    checkUse(meta, use, this.now(), currentOf(this.metas(), meta.ring));
    return this.handle(meta);
  }

  /**
   * Tokens may refuse to modify a data object's CKA_VALUE (SoftHSM does), so an
   * update writes a new object, then deletes the old one; loadMeta resolves a
   * crash between the two in favour of the stricter copy.
   */
  private writeMeta(e: Entry, meta: KeyMeta): void {
    const data = this.createMeta(meta);
    this.token.destroy(e.data);
    e.data = data;
    e.meta = meta;
  }

  private createMeta(meta: KeyMeta): Handle {
    return this.token.create([
      { type: ck.CKA_CLASS, value: ck.CKO_DATA },
      { type: ck.CKA_TOKEN, value: true },
      { type: ck.CKA_PRIVATE, value: true },
      { type: ck.CKA_APPLICATION, value: APPLICATION },
      { type: ck.CKA_LABEL, value: keyLabel(meta.ring, meta.version) },
      { type: ck.CKA_VALUE, value: encodeMeta(meta) },
    ], 'storing key metadata');
  }

  /**
   * Creates the key object (unless `make` is undefined: a destroyed version's
   * tombstone) and its metadata together, or neither. Returns what it created.
   */
  private install(meta: KeyMeta, current: boolean, make: ((template: Template) => Handle) | undefined): Handle[] {
    const label = keyLabel(meta.ring, meta.version);
    const key = make?.(longTermKey(meta, current));
    try {
      const data = this.createMeta(meta);
      this.entries.set(label, { meta, data });
      if (key === undefined) return [data];
      this.handles.set(label, key);
      return [key, data];
    } catch (e) {
      if (key !== undefined) this.token.destroy(key);
      throw e;
    }
  }

  private addVersion(ring: string, version: number, purpose: KeyPurpose, policy: KeyPolicy): KeyVersion {
    if (purpose === 'encrypt') requireMechanisms(this.token.p11, this.slot(), this.config.token, ['CKM_AES_GCM']);
    const meta = newMeta(ring, version, purpose, policy, this.now());
    this.install(meta, true, (t) => this.token.generateAes(t, `generating key ${ring} v${version}`));
    return this.describe(meta);
  }

  private slot(): Handle {
    return this.token.p11.C_GetSessionInfo(this.token.session).slotID;
  }

  private describe(meta: KeyMeta): KeyVersion {
    return { ...meta, current: currentOf(this.metas(), meta.ring)?.version === meta.version };
  }

  async createRing(ring: string, purpose: KeyPurpose, policy: KeyPolicy = DEFAULT_POLICY): Promise<KeyVersion> {
    checkRingName(ring);
    this.loadMeta();
    if (this.metas().some((m) => m.ring === ring)) {
      throw new EbakError('ALREADY_EXISTS', `HSM key ring "${ring}" already exists; use \`ebak hsm rotate --ring ${ring}\` to add a version`);
    }
    const v = this.addVersion(ring, 1, purpose, policy);
    await this.audit({ type: 'key.create', ring, version: 1, detail: purpose });
    return v;
  }

  async rotate(ring: string, policy: KeyPolicy = DEFAULT_POLICY): Promise<KeyVersion> {
    checkRingName(ring);
    this.loadMeta();
    const versions = this.metas().filter((m) => m.ring === ring);
    if (versions.length === 0) throw new EbakError('NOT_FOUND', `HSM key ring "${ring}" does not exist; create it with \`ebak hsm init --ring ${ring}\``);
    const previous = currentOf(versions, ring);
    const next = Math.max(...versions.map((m) => m.version)) + 1;
    const v = this.addVersion(ring, next, versions[0]!.purpose, policy);
    // The token itself then refuses wraps under the old version (CKA_WRAP/ENCRYPT false).
    if (previous !== undefined) this.token.setAttrs(this.handle(previous), usage(previous.purpose, true, false), 'retiring the previous key version');
    await this.audit({ type: 'key.rotate', ring, version: next });
    return v;
  }

  async keys(): Promise<KeyVersion[]> {
    this.loadMeta();
    return withCurrent(this.metas());
  }

  async wrap(ring: string, secret: Uint8Array): Promise<Uint8Array> {
    if (secret.length < MIN_SECRET || secret.length > MAX_SECRET || secret.length % 8 !== 0) {
      // RFC 3394 needs whole 64-bit blocks; SoftHSM's _PAD variant is not RFC 5649 (docs/hsm.md).
      throw new EbakError('USAGE', `cannot wrap a ${secret.length}-byte secret: AES key wrap takes ${MIN_SECRET}..${MAX_SECRET} bytes in multiples of 8`);
    }
    try {
      return this.wrapCurrent(ring, secret);
    } catch (e) {
      // Another process (a vault replica, `ebak hsm rotate`) may have rotated: the token refuses the version this
      // session still takes for current. Look again once.
      if (!isEbakError(e)) throw e;
      this.loadMeta();
      return this.wrapCurrent(ring, secret);
    }
  }

  private wrapCurrent(ring: string, secret: Uint8Array): Buffer {
    const meta = this.current(ring);
    const kek = this.usable(meta, 'wrap', 'wrap');
    const obj = this.token.importSecret(secret);
    try {
      return encodeBlob({ kind: BLOB_KIND.wrap, ring: meta.ring, version: meta.version }, this.token.wrap(kek, obj, `wrap under ${ring} v${meta.version}`));
    } finally {
      this.token.destroy(obj);
    }
  }

  private parse(blob: Uint8Array, kind: number): ParsedBlob {
    const p = parseBlob(blob);
    if (p.kind !== kind) throw new EbakError('USAGE', `HSM blob is of kind ${p.kind}, not ${kind}; pass wrapped keys to unwrap and ciphertexts to decrypt`);
    return p;
  }

  async unwrap(blob: Uint8Array): Promise<Buffer> {
    const p = this.parse(blob, BLOB_KIND.wrap);
    const kek = this.usable(this.entry(p.ring, p.version).meta, 'unwrap', 'wrap');
    return this.token.takeValue(this.token.unwrapTransient(kek, p.body, true));
  }

  async rewrap(blob: Uint8Array): Promise<Uint8Array> {
    const p = this.parse(blob, BLOB_KIND.wrap);
    const from = this.usable(this.entry(p.ring, p.version).meta, 'unwrap', 'wrap');
    const meta = this.current(p.ring);
    const to = this.usable(meta, 'wrap', 'wrap');
    // The secret is unwrapped as a sensitive session object: it never reaches JavaScript.
    const obj = this.token.unwrapTransient(from, p.body, false);
    try {
      return encodeBlob({ kind: BLOB_KIND.wrap, ring: meta.ring, version: meta.version }, this.token.wrap(to, obj, `rewrap under ${meta.ring} v${meta.version}`));
    } finally {
      this.token.destroy(obj);
    }
  }

  async encrypt(ring: string, plaintext: Uint8Array, aad: Uint8Array = Buffer.alloc(0)): Promise<Uint8Array> {
    requireMechanisms(this.token.p11, this.slot(), this.config.token, ['CKM_AES_GCM']);
    const meta = this.current(ring);
    const key = this.usable(meta, 'wrap', 'encrypt');
    const header = encodeHeader({ kind: BLOB_KIND.gcm, ring: meta.ring, version: meta.version });
    return Buffer.concat([header, this.token.gcmEncrypt(key, plaintext, Buffer.concat([header, aad]))]);
  }

  async decrypt(blob: Uint8Array, aad: Uint8Array = Buffer.alloc(0)): Promise<Buffer> {
    requireMechanisms(this.token.p11, this.slot(), this.config.token, ['CKM_AES_GCM']);
    const p = this.parse(blob, BLOB_KIND.gcm);
    const key = this.usable(this.entry(p.ring, p.version).meta, 'unwrap', 'encrypt');
    return this.token.gcmDecrypt(key, p.body, Buffer.concat([p.header, aad]));
  }

  async expire(ring: string, version: number, notAfter: Date, graceSeconds: number): Promise<KeyVersion> {
    const e = this.entry(ring, version);
    this.writeMeta(e, { ...e.meta, notAfter, unwrapUntil: new Date(notAfter.getTime() + graceSeconds * 1000) });
    await this.audit({ type: 'key.validity', ring, version, detail: `notAfter=${notAfter.toISOString()} graceSeconds=${graceSeconds}` });
    return this.describe(e.meta);
  }

  async revoke(ring: string, version: number, reason: string): Promise<KeyVersion> {
    const e = this.entry(ring, version);
    if (e.meta.state === 'destroyed') throw new EbakError('HSM', `HSM key ${ring} v${version} is already destroyed; nothing to revoke`);
    // Token-enforced as well: the key loses every usage flag.
    this.token.setAttrs(this.handle(e.meta), usage(e.meta.purpose, false, false), `revoking ${ring} v${version}`);
    this.writeMeta(e, { ...e.meta, state: 'revoked', revokedAt: this.now(), reason });
    await this.audit({ type: 'key.revoke', ring, version, detail: reason });
    return this.describe(e.meta);
  }

  async destroy(ring: string, version: number): Promise<KeyVersion> {
    const e = this.entry(ring, version);
    if (e.meta.state === 'destroyed') return this.describe(e.meta);
    // Write-ahead audit: if the log cannot record it, the key is not destroyed.
    await this.audit({ type: 'key.destroy', ring, version });
    const label = keyLabel(ring, version);
    this.token.destroy(this.handle(e.meta));
    this.handles.delete(label);
    this.writeMeta(e, { ...e.meta, state: 'destroyed', revokedAt: e.meta.revokedAt ?? this.now() });
    return this.describe(e.meta);
  }

  async backup(): Promise<Uint8Array> {
    this.loadMeta();
    const metas = this.metas();
    const file = writeBackup(this.token, metas.map((meta) => ({ meta, key: meta.state === 'destroyed' ? undefined : this.handle(meta) })), this.now());
    await this.audit({ type: 'backup.create', detail: `${metas.length} key versions` });
    return file;
  }

  async restore(file: Uint8Array): Promise<RestoreReport> {
    this.loadMeta();
    const { entries, kbk } = readBackup(this.token, file);
    // Check everything before creating anything: a refused restore leaves the token as it was.
    for (const { meta } of entries) {
      if (this.entries.has(keyLabel(meta.ring, meta.version))) {
        throw new EbakError('ALREADY_EXISTS', `HSM token "${this.config.token}" already holds ${meta.ring} v${meta.version}; restore onto a fresh token`);
      }
    }
    const metas = entries.map((e) => e.meta);
    const created: Handle[] = [];
    try {
      for (const { meta, wrapped } of entries) {
        const current = currentOf(metas, meta.ring)?.version === meta.version;
        created.push(...this.install(meta, current, wrapped && ((t) => this.token.unwrap(kbk, wrapped, t))));
      }
    } catch (e) {
      for (const h of created) this.token.destroy(h);
      this.loadMeta();
      throw e;
    }
    await this.audit({ type: 'backup.restore', detail: `${entries.length} key versions` });
    return { restored: withCurrent(metas) };
  }

  sessions(options?: SessionOptions): Promise<HsmSessions> {
    return SessionPool.open(this.config, options);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      this.token.p11.C_CloseSession(this.token.session);
    } finally {
      releaseModule(this.config.module);
    }
  }
}
