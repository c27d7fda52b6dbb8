/**
 * The enclave's client for an attestation-gated key service: AWS KMS in
 * production, the simulated key service (src/kms/simulated) elsewhere, with
 * the same code. Decrypt and GenerateDataKey carry a Recipient: a fresh
 * RSA-2048 key pair per call, its public key in the attestation document, so
 * KMS answers only with CiphertextForRecipient (CMS, src/kms/cms.ts), which is
 * opened here; the host that relays the traffic never sees a plaintext.
 * KMS refusals become EbakError VAULT, an unreachable service STORAGE.
 */
import { generateKeyPair } from 'node:crypto';
import { Agent as HttpsAgent } from 'node:https';
import { promisify } from 'node:util';
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, type RecipientInfo } from '@aws-sdk/client-kms';
import { EbakError } from '../errors.js';
import { openRecipientEnvelope } from './cms.js';

export interface RecipientAttester {
  attest(r: { publicKey?: Uint8Array; userData?: Uint8Array; nonce?: Uint8Array }): Uint8Array | Promise<Uint8Array>;
}

export interface KmsClientOptions {
  keyId: string;
  region: string;
  /** e.g. the simulated service's URL, or the vsock-proxy's local end in an enclave. */
  endpoint?: string;
  /** Extra trusted CA certificates (PEM) for the endpoint, e.g. the simulated service's certificate. */
  ca?: string | Buffer;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  attester: RecipientAttester;
}

const DATA_KEY_BYTES = 32;
const newRsaKey = promisify(generateKeyPair);

export class RecipientKms {
  private readonly client: KMSClient;
  private readonly agent: HttpsAgent;

  constructor(private readonly o: KmsClientOptions) {
    // Node 20 is past the SDK's support horizon; a note for whoever upgrades Node, not a runtime concern.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    this.agent = new HttpsAgent({ keepAlive: true, ...(o.ca === undefined ? {} : { ca: o.ca }) });
    this.client = new KMSClient({
      region: o.region,
      ...(o.endpoint === undefined ? {} : { endpoint: o.endpoint }),
      ...(o.credentials === undefined ? {} : { credentials: o.credentials }),
      maxAttempts: 2,
      requestHandler: { httpsAgent: this.agent, connectionTimeout: 10_000, socketTimeout: 30_000 },
    });
  }

  /** GenerateDataKey (AES_256) with Recipient: the plaintext is opened here and never leaves this process. */
  async generateDataKey(context: Record<string, string>): Promise<{ plaintext: Buffer; ciphertextBlob: Buffer }> {
    const { recipient, open } = await this.recipient();
    const out = await this.call('GenerateDataKey', () => this.client.send(new GenerateDataKeyCommand({
      KeyId: this.o.keyId, KeySpec: 'AES_256', EncryptionContext: context, Recipient: recipient,
    })));
    const plaintext = open(out.CiphertextForRecipient, out.Plaintext);
    if (plaintext.length !== DATA_KEY_BYTES) throw new EbakError('VAULT', `KMS GenerateDataKey returned a ${plaintext.length}-byte key, not ${DATA_KEY_BYTES}`);
    if (out.CiphertextBlob === undefined) throw new EbakError('VAULT', 'KMS GenerateDataKey returned no CiphertextBlob');
    return { plaintext, ciphertextBlob: Buffer.from(out.CiphertextBlob) };
  }

  /** Decrypt with Recipient. */
  async decrypt(ciphertextBlob: Uint8Array, context: Record<string, string>): Promise<Buffer> {
    const { recipient, open } = await this.recipient();
    const out = await this.call('Decrypt', () => this.client.send(new DecryptCommand({
      KeyId: this.o.keyId, CiphertextBlob: ciphertextBlob, EncryptionContext: context, Recipient: recipient,
    })));
    return open(out.CiphertextForRecipient, out.Plaintext);
  }

  /** Encrypt (no attestation needed: used to provision secrets such as the HSM PIN). */
  async encrypt(plaintext: Uint8Array, context: Record<string, string>): Promise<Buffer> {
    const out = await this.call('Encrypt', () => this.client.send(new EncryptCommand({ KeyId: this.o.keyId, Plaintext: plaintext, EncryptionContext: context })));
    if (out.CiphertextBlob === undefined) throw new EbakError('VAULT', 'KMS Encrypt returned no CiphertextBlob');
    return Buffer.from(out.CiphertextBlob);
  }

  close(): void {
    this.client.destroy();
    this.agent.destroy();
  }

  /** A fresh key pair for one call, and the opener for its answer. */
  private async recipient(): Promise<{ recipient: RecipientInfo; open: (sealed: Uint8Array | undefined, plaintext: Uint8Array | undefined) => Buffer }> {
    const { publicKey, privateKey } = await newRsaKey('rsa', { modulusLength: 2048 });
    const document = await this.o.attester.attest({ publicKey: publicKey.export({ type: 'spki', format: 'der' }) });
    return {
      recipient: { KeyEncryptionAlgorithm: 'RSAES_OAEP_SHA_256', AttestationDocument: document },
      open: (sealed, plaintext) => {
        // A service that answers a Recipient request in the clear has shown the secret to the host.
        if (plaintext !== undefined && plaintext.length > 0) throw new EbakError('VAULT', 'KMS answered a Recipient request with a plaintext');
        if (sealed === undefined) throw new EbakError('VAULT', 'KMS answered without CiphertextForRecipient');
        return openRecipientEnvelope(sealed, privateKey);
      },
    };
  }

  private async call<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      throw kmsError(operation, e, this.o.endpoint ?? `kms.${this.o.region}.amazonaws.com`);
    }
  }
}

/** A service answer (it has an HTTP status) is a refusal; anything else means it was not reached. */
function kmsError(operation: string, e: unknown, where: string): EbakError {
  const err = e as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const oneLine = (s: string | undefined) => (s ?? '').split('\n')[0]!.slice(0, 200);
  if (err.$metadata?.httpStatusCode !== undefined) {
    return new EbakError('VAULT', `KMS ${operation} refused: ${err.name ?? 'Error'}: ${oneLine(err.message)}`, { cause: e });
  }
  return new EbakError('STORAGE', `KMS ${operation}: cannot reach ${where}: ${err.code ?? err.name ?? 'Error'}: ${oneLine(err.message)}`, { cause: e });
}
