/**
 * One logged-in session on one token, with the few Cryptoki operations the HSM
 * layer uses, each mapping failures to EbakError. Attribute templates live
 * here so every key this layer creates has the same, reviewed attributes.
 */
import { EbakError } from '../../errors.js';
import type { KeyPurpose } from '../hsm.js';
import type { KeyMeta } from '../lifecycle.js';
import { ck, ckr, ckrName, hsmError } from './module.js';
import type { Handle, P11 } from './module.js';

type Template = Parameters<P11['C_CreateObject']>[1];

export const APPLICATION = 'ebak-hsm';
export const KBK_LABEL = 'ebak:cluster-kbk';
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;

export function keyLabel(ring: string, version: number): string {
  return `ebak:${ring}:v${version}`;
}

const secretAes: Template = [
  { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
  { type: ck.CKA_KEY_TYPE, value: ck.CKK_AES },
];

/** Usage flags follow the lifecycle: only the current active version wraps/encrypts. */
export function usage(purpose: KeyPurpose, active: boolean, current: boolean): Template {
  const w = purpose === 'wrap';
  return [
    { type: ck.CKA_WRAP, value: w && active && current },
    { type: ck.CKA_UNWRAP, value: w && active },
    { type: ck.CKA_ENCRYPT, value: !w && active && current },
    { type: ck.CKA_DECRYPT, value: !w && active },
  ];
}

/**
 * A long-term key: sensitive (never readable), exportable only wrapped under a
 * trusted key (CKA_WRAP_WITH_TRUSTED; only the SO-installed cluster KBK is
 * trusted). See docs/hsm.md "Why KEKs are extractable at all".
 */
export function longTermKey(m: KeyMeta, current: boolean): Template {
  const label = keyLabel(m.ring, m.version);
  return [
    ...secretAes,
    { type: ck.CKA_TOKEN, value: true },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: true },
    { type: ck.CKA_EXTRACTABLE, value: true },
    { type: ck.CKA_WRAP_WITH_TRUSTED, value: true },
    { type: ck.CKA_MODIFIABLE, value: true },
    { type: ck.CKA_SIGN, value: false },
    { type: ck.CKA_VERIFY, value: false },
    { type: ck.CKA_DERIVE, value: false },
    { type: ck.CKA_LABEL, value: label },
    { type: ck.CKA_ID, value: Buffer.from(`${m.ring}:${m.version}`, 'ascii') },
    ...usage(m.purpose, m.state === 'active', current),
  ];
}

/** A transient secret (client secret, data key, BEK): session object, gone at close. */
function transient(readable: boolean, extra: Template): Template {
  return [
    { type: ck.CKA_TOKEN, value: false },
    { type: ck.CKA_PRIVATE, value: true },
    { type: ck.CKA_SENSITIVE, value: !readable },
    { type: ck.CKA_EXTRACTABLE, value: true },
    ...extra,
  ];
}

const generic: Template = [
  { type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY },
  { type: ck.CKA_KEY_TYPE, value: ck.CKK_GENERIC_SECRET },
];

const KW = { mechanism: ck.CKM_AES_KEY_WRAP };

export class Token {
  constructor(
    readonly p11: P11,
    readonly session: Handle,
    readonly label: string,
  ) {}

  find(template: Template): Handle[] {
    const { p11, session } = this;
    p11.C_FindObjectsInit(session, template);
    try {
      return p11.C_FindObjects(session, 10_000);
    } finally {
      p11.C_FindObjectsFinal(session);
    }
  }

  findKey(label: string): Handle | undefined {
    return this.find([{ type: ck.CKA_CLASS, value: ck.CKO_SECRET_KEY }, { type: ck.CKA_LABEL, value: label }])[0];
  }

  attr(h: Handle, type: number): Buffer {
    const [a] = this.p11.C_GetAttributeValue(this.session, h, [{ type }]);
    return a!.value;
  }

  setAttrs(h: Handle, template: Template, action: string): void {
    try {
      this.p11.C_SetAttributeValue(this.session, h, template);
    } catch (e) {
      throw hsmError(action, e);
    }
  }

  destroy(h: Handle): void {
    this.p11.C_DestroyObject(this.session, h);
  }

  create(template: Template, action: string): Handle {
    try {
      return this.p11.C_CreateObject(this.session, template);
    } catch (e) {
      throw hsmError(action, e);
    }
  }

  generateAes(template: Template, action: string): Handle {
    try {
      return this.p11.C_GenerateKey(this.session, { mechanism: ck.CKM_AES_KEY_GEN }, [...secretAes, { type: ck.CKA_VALUE_LEN, value: 32 }, ...template]);
    } catch (e) {
      throw hsmError(action, e);
    }
  }

  /** Session AES-256 key for GCM + wrapping, never readable (the backup's BEK). */
  generateTransientAes(): Handle {
    return this.generateAes(transient(false, [
      { type: ck.CKA_ENCRYPT, value: true },
      { type: ck.CKA_DECRYPT, value: true },
    ]), 'generating a backup encryption key');
  }

  /** Imports a caller's secret as a session object that may only be wrapped. */
  importSecret(secret: Uint8Array): Handle {
    return this.create([...generic, ...transient(false, [{ type: ck.CKA_VALUE, value: view(secret) }])], 'importing a secret to wrap');
  }

  wrap(kek: Handle, key: Handle, action: string): Buffer {
    try {
      return this.p11.C_WrapKey(this.session, KW, kek, key, Buffer.alloc(1024));
    } catch (e) {
      throw hsmError(action, e);
    }
  }

  /** Unwraps into a transient object; `readable` only when the caller needs the bytes. */
  unwrapTransient(kek: Handle, wrapped: Buffer, readable: boolean): Handle {
    return this.unwrap(kek, wrapped, [...generic, ...transient(readable, [])]);
  }

  unwrap(kek: Handle, wrapped: Buffer, template: Template): Handle {
    try {
      return this.p11.C_UnwrapKey(this.session, KW, kek, wrapped, template);
    } catch (e) {
      const code = ckr(e);
      if (code === ck.CKR_WRAPPED_KEY_INVALID || code === ck.CKR_WRAPPED_KEY_LEN_RANGE || code === ck.CKR_GENERAL_ERROR || code === ck.CKR_ENCRYPTED_DATA_INVALID) {
        throw new EbakError('AUTH_FAILED', `HSM unwrap failed integrity check (${ckrName(e)}); the blob was altered or belongs to another key`, { cause: e });
      }
      throw hsmError('unwrap', e);
    }
  }

  /** Reads a transient secret's value and destroys the object. */
  takeValue(h: Handle): Buffer {
    try {
      return this.attr(h, ck.CKA_VALUE);
    } finally {
      this.destroy(h);
    }
  }

  random(n: number): Buffer {
    return this.p11.C_GenerateRandom(this.session, Buffer.alloc(n));
  }

  gcmEncrypt(key: Handle, plaintext: Uint8Array, aad: Buffer): Buffer {
    const iv = this.random(GCM_IV_BYTES);
    try {
      this.p11.C_EncryptInit(this.session, gcm(iv, aad), key);
      const out = this.p11.C_Encrypt(this.session, view(plaintext), Buffer.alloc(plaintext.length + GCM_TAG_BYTES));
      return Buffer.concat([iv, out]);
    } catch (e) {
      throw hsmError('AES-GCM encrypt', e);
    }
  }

  gcmDecrypt(key: Handle, body: Buffer, aad: Buffer): Buffer {
    if (body.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new EbakError('CORRUPT', 'HSM ciphertext is too short; it was truncated');
    const iv = body.subarray(0, GCM_IV_BYTES);
    const ct = body.subarray(GCM_IV_BYTES);
    try {
      this.p11.C_DecryptInit(this.session, gcm(iv, aad), key);
      return this.p11.C_Decrypt(this.session, ct, Buffer.alloc(ct.length));
    } catch (e) {
      // SoftHSM reports a bad GCM tag as CKR_GENERAL_ERROR (ENVIRONMENT.md).
      const code = ckr(e);
      if (code === ck.CKR_GENERAL_ERROR || code === ck.CKR_ENCRYPTED_DATA_INVALID) {
        throw new EbakError('AUTH_FAILED', 'HSM AES-GCM decryption failed authentication; the ciphertext or its AAD was altered', { cause: e });
      }
      throw hsmError('AES-GCM decrypt', e);
    }
  }
}

/** A Buffer over the same memory: copying a secret would leave a copy to zero. */
export function view(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function gcm(iv: Buffer, aad: Buffer) {
  return { mechanism: ck.CKM_AES_GCM, parameter: { type: ck.CK_PARAMS_GCM, iv, ivBits: GCM_IV_BYTES * 8, aad, tagBits: GCM_TAG_BYTES * 8 } };
}
