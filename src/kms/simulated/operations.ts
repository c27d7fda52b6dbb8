/**
 * The operations of the simulated key service (CreateKey, Encrypt, Decrypt,
 * GenerateDataKey) on JSON requests already authenticated by the server.
 * Each one finds the key, checks its key policy against the request (with the
 * verified Recipient's PCRs, if any), and answers in KMS's JSON shape; with a
 * Recipient the secret goes out only as CiphertextForRecipient, never as Plaintext.
 */
import { randomBytes, type X509Certificate } from 'node:crypto';
import { isEbakError } from '../../errors.js';
import { sealRecipientEnvelope } from '../cms.js';
import { openBlob, parseBlob, sealBlob } from './blob.js';
import { KmsFault } from './fault.js';
import { createKey, loadKey, type StoredKey } from './keystore.js';
import { isAllowed, type KmsAction } from './policy.js';
import { verifyRecipient, type VerifiedRecipient } from './recipient.js';

export interface ServiceConfig {
  dir: string;
  root: X509Certificate;
  /** The policy of keys created through CreateKey without one. */
  defaultPolicy?: unknown;
  region: string;
}

type Json = Record<string, unknown>;
export type Operation = (input: Json, config: ServiceConfig) => Promise<Json>;

const MAX_PLAINTEXT = 4096; // KMS's Encrypt limit
const MAX_DATA_KEY = 1024; // KMS's NumberOfBytes limit

export const OPERATIONS: Record<string, Operation> = {
  async CreateKey(input, config) {
    if (input.KeyUsage !== undefined && input.KeyUsage !== 'ENCRYPT_DECRYPT') throw new KmsFault('UnsupportedOperationException', 'only ENCRYPT_DECRYPT keys are simulated');
    const spec = input.KeySpec ?? input.CustomerMasterKeySpec;
    if (spec !== undefined && spec !== 'SYMMETRIC_DEFAULT') throw new KmsFault('UnsupportedOperationException', 'only SYMMETRIC_DEFAULT keys are simulated');
    const policy = input.Policy === undefined ? config.defaultPolicy : string(input.Policy, 'Policy');
    try {
      return { KeyMetadata: await createKey(config.dir, { policy, description: input.Description === undefined ? '' : string(input.Description, 'Description'), region: config.region }) };
    } catch (e) {
      if (isEbakError(e, 'USAGE')) throw new KmsFault('MalformedPolicyDocumentException', e.message);
      throw e;
    }
  },

  async Encrypt(input, config) {
    const key = await authorize(await findKey(string(input.KeyId, 'KeyId'), config), 'kms:Encrypt', undefined);
    const plaintext = blob(input.Plaintext, 'Plaintext', MAX_PLAINTEXT);
    return { CiphertextBlob: sealBlob(key.material, key.metadata.KeyId, plaintext, context(input)), KeyId: key.metadata.Arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  },

  async Decrypt(input, config) {
    algorithm(input.EncryptionAlgorithm);
    let parts;
    try {
      parts = parseBlob(blob(input.CiphertextBlob, 'CiphertextBlob', 6144));
    } catch (e) {
      if (isEbakError(e)) throw new KmsFault('InvalidCiphertextException', e.message);
      throw e;
    }
    const key = await findKey(parts.keyId, config);
    if (input.KeyId !== undefined && (await findKey(string(input.KeyId, 'KeyId'), config)).metadata.KeyId !== key.metadata.KeyId) {
      throw new KmsFault('IncorrectKeyException', 'the ciphertext was not made under the KeyId given');
    }
    const recipient = recipientOf(input, config);
    await authorize(key, 'kms:Decrypt', recipient);
    let plaintext: Buffer;
    try {
      plaintext = openBlob(key.material, parts, context(input));
    } catch (e) {
      if (isEbakError(e)) throw new KmsFault('InvalidCiphertextException', e.message);
      throw e;
    }
    return { KeyId: key.metadata.Arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT', ...release(plaintext, recipient) };
  },

  async GenerateDataKey(input, config) {
    const key = await findKey(string(input.KeyId, 'KeyId'), config);
    const length = dataKeyLength(input);
    const recipient = recipientOf(input, config);
    await authorize(key, 'kms:GenerateDataKey', recipient);
    const plaintext = randomBytes(length);
    const CiphertextBlob = sealBlob(key.material, key.metadata.KeyId, plaintext, context(input));
    return { KeyId: key.metadata.Arn, CiphertextBlob, ...release(plaintext, recipient) };
  },
};

/** With a Recipient the plaintext leaves only sealed to the attested key. */
function release(plaintext: Buffer, recipient: VerifiedRecipient | undefined): Json {
  if (recipient === undefined) return { Plaintext: plaintext };
  const sealed = sealRecipientEnvelope(plaintext, recipient.publicKey);
  plaintext.fill(0);
  return { CiphertextForRecipient: sealed };
}

async function findKey(keyId: string, config: ServiceConfig): Promise<StoredKey> {
  const key = await loadKey(config.dir, keyId);
  if (key === undefined) throw new KmsFault('NotFoundException', `key ${keyId} does not exist`);
  return key;
}

async function authorize(key: StoredKey, action: KmsAction, recipient: VerifiedRecipient | undefined): Promise<StoredKey> {
  if (!isAllowed(key.policy, { action, ...(recipient ? { recipient: recipient.pcrs } : {}) })) {
    throw new KmsFault('AccessDeniedException', `the key policy of ${key.metadata.KeyId} does not allow ${action} for this request`);
  }
  return key;
}

function recipientOf(input: Json, config: ServiceConfig): VerifiedRecipient | undefined {
  if (input.Recipient === undefined) return undefined;
  const r = object(input.Recipient, 'Recipient');
  return verifyRecipient({ KeyEncryptionAlgorithm: r.KeyEncryptionAlgorithm, ...(r.AttestationDocument === undefined ? {} : { AttestationDocument: blob(r.AttestationDocument, 'Recipient.AttestationDocument', 16384) }) }, config.root);
}

function dataKeyLength(input: Json): number {
  if ((input.KeySpec === undefined) === (input.NumberOfBytes === undefined)) throw new KmsFault('ValidationException', 'give exactly one of KeySpec and NumberOfBytes');
  if (input.KeySpec !== undefined) {
    if (input.KeySpec !== 'AES_256' && input.KeySpec !== 'AES_128') throw new KmsFault('ValidationException', 'KeySpec is AES_256 or AES_128');
    return input.KeySpec === 'AES_256' ? 32 : 16;
  }
  const n = input.NumberOfBytes;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > MAX_DATA_KEY) throw new KmsFault('ValidationException', `NumberOfBytes is 1..${MAX_DATA_KEY}`);
  return n;
}

function algorithm(value: unknown): void {
  if (value !== undefined && value !== 'SYMMETRIC_DEFAULT') throw new KmsFault('ValidationException', 'EncryptionAlgorithm is SYMMETRIC_DEFAULT for symmetric keys');
}

function context(input: Json): Record<string, string> {
  if (input.EncryptionContext === undefined) return {};
  const c = object(input.EncryptionContext, 'EncryptionContext');
  for (const [k, v] of Object.entries(c)) if (typeof v !== 'string' || k === '') throw new KmsFault('ValidationException', 'EncryptionContext maps non-empty strings to strings');
  return c as Record<string, string>;
}

function blob(value: unknown, name: string, max: number): Buffer {
  const s = string(value, name);
  const b = Buffer.from(s, 'base64');
  if (b.length === 0 || b.length > max || b.toString('base64') !== s) throw new KmsFault('ValidationException', `${name} must be 1..${max} bytes of base64`);
  return b;
}

function string(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') throw new KmsFault('ValidationException', `${name} is required and must be a string`);
  return value;
}

function object(value: unknown, name: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new KmsFault('ValidationException', `${name} must be an object`);
  return value as Json;
}
