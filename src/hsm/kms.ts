/**
 * The key-custody operations over AWS KMS, for the production enclave path.
 * In a Nitro Enclave, Decrypt carries the enclave's attestation document as
 * Recipient, so KMS returns the plaintext only inside a CMS envelope sealed to
 * the enclave's key (CiphertextForRecipient); the parent instance, which
 * forwards the traffic, never sees it. Opening that envelope belongs to the
 * enclave code that owns the key (KmsRecipient), not to this module.
 *
 * UNTESTED here (no AWS account, no Nitro device): see docs/hsm.md. Lifecycle
 * operations are AWS's (key policy, automatic rotation, ScheduleKeyDeletion),
 * not this program's; they throw NOT_IMPLEMENTED with that hint.
 */
import { DecryptCommand, EncryptCommand, ReEncryptCommand } from '@aws-sdk/client-kms';
import type { KMSClient } from '@aws-sdk/client-kms';
import { EbakError } from '../errors.js';
import { BLOB_KIND, encodeBlob, encodeHeader, parseBlob } from './blob.js';
import type { Hsm, KeyVersion, RestoreReport } from './hsm.js';

export interface KmsRecipient {
  /** A fresh Nitro attestation document whose public_key is the enclave's RSA key. */
  attestationDocument(): Promise<Uint8Array>;
  /** Opens KMS's CiphertextForRecipient (CMS EnvelopedData) with the enclave's private key. */
  open(envelope: Uint8Array): Promise<Buffer>;
}

export interface KmsConfig {
  readonly client: KMSClient;
  /** Ring name -> KMS key id, ARN or alias (e.g. "alias/ebak-vault"). */
  readonly keys: Readonly<Record<string, string>>;
  /** Present inside an enclave; absent, Decrypt returns plaintext to this process. */
  readonly recipient?: KmsRecipient;
}

/** KMS keeps old key material behind one key id, so every blob is "version 1". */
const VERSION = 1;

export class KmsHsm implements Hsm {
  constructor(private readonly config: KmsConfig) {}

  private keyId(ring: string): string {
    const id = this.config.keys[ring];
    if (id === undefined) throw new EbakError('HSM', `no KMS key configured for ring "${ring}"; add it to the KMS provider's key map`);
    return id;
  }

  /** The blob header and caller AAD become the KMS encryption context (authenticated). */
  private context(header: Buffer, aad: Uint8Array): Record<string, string> {
    return { ebak: Buffer.concat([header, aad]).toString('base64') };
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      const name = (e as { name?: string }).name ?? 'Error';
      if (name === 'InvalidCiphertextException') throw new EbakError('AUTH_FAILED', `KMS ${what} failed authentication; the blob or its AAD was altered`, { cause: e });
      throw new EbakError('HSM', `KMS ${what} failed: ${name}; check the key policy, region and credentials`, { cause: e });
    }
  }

  async encrypt(ring: string, plaintext: Uint8Array, aad: Uint8Array = Buffer.alloc(0)): Promise<Uint8Array> {
    const header = encodeHeader({ kind: BLOB_KIND.kms, ring, version: VERSION });
    const out = await this.call('Encrypt', () => this.config.client.send(new EncryptCommand({
      KeyId: this.keyId(ring), Plaintext: plaintext, EncryptionContext: this.context(header, aad),
    })));
    return encodeBlob({ kind: BLOB_KIND.kms, ring, version: VERSION }, out.CiphertextBlob!);
  }

  async decrypt(blob: Uint8Array, aad: Uint8Array = Buffer.alloc(0)): Promise<Buffer> {
    const p = parseBlob(blob);
    if (p.kind !== BLOB_KIND.kms) throw new EbakError('USAGE', 'this blob was not made by KMS; open it with the PKCS#11 provider');
    const recipient = this.config.recipient;
    const doc = recipient === undefined ? undefined : await recipient.attestationDocument();
    const out = await this.call('Decrypt', () => this.config.client.send(new DecryptCommand({
      KeyId: this.keyId(p.ring),
      CiphertextBlob: p.body,
      EncryptionContext: this.context(p.header, aad),
      ...(doc === undefined ? {} : { Recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: doc } }),
    })));
    if (recipient !== undefined) return recipient.open(out.CiphertextForRecipient!);
    const plain = out.Plaintext!;
    return Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength);
  }

  wrap(ring: string, secret: Uint8Array): Promise<Uint8Array> {
    return this.encrypt(ring, secret);
  }

  unwrap(blob: Uint8Array): Promise<Buffer> {
    return this.decrypt(blob);
  }

  /** ReEncrypt runs inside KMS: the secret is not returned to anyone. */
  async rewrap(blob: Uint8Array): Promise<Uint8Array> {
    const p = parseBlob(blob);
    const out = await this.call('ReEncrypt', () => this.config.client.send(new ReEncryptCommand({
      CiphertextBlob: p.body,
      SourceKeyId: this.keyId(p.ring),
      SourceEncryptionContext: this.context(p.header, Buffer.alloc(0)),
      DestinationKeyId: this.keyId(p.ring),
      DestinationEncryptionContext: this.context(p.header, Buffer.alloc(0)),
    })));
    return encodeBlob({ kind: BLOB_KIND.kms, ring: p.ring, version: VERSION }, out.CiphertextBlob!);
  }

  private managedByAws(what: string): never {
    throw new EbakError('NOT_IMPLEMENTED', `${what} is managed in AWS KMS itself (key policy, automatic rotation, DisableKey, ScheduleKeyDeletion); use the AWS console or CLI`);
  }

  createRing(): Promise<KeyVersion> { return this.managedByAws('creating a key'); }
  rotate(): Promise<KeyVersion> { return this.managedByAws('rotation'); }
  keys(): Promise<KeyVersion[]> { return this.managedByAws('listing key versions'); }
  expire(): Promise<KeyVersion> { return this.managedByAws('expiry'); }
  revoke(): Promise<KeyVersion> { return this.managedByAws('revocation'); }
  destroy(): Promise<KeyVersion> { return this.managedByAws('destruction'); }
  backup(): Promise<Uint8Array> { return this.managedByAws('backup'); }
  restore(): Promise<RestoreReport> { return this.managedByAws('restore'); }
  async close(): Promise<void> {
    this.config.client.destroy();
  }
}
