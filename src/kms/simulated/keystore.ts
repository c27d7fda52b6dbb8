/**
 * The simulated key service's keys: one JSON file per key under
 * `<dir>/keys/` (directory 0700, files 0600) holding the 256-bit key material
 * and the key policy. These files stand in for KMS's HSMs: whoever can read
 * them can decrypt every blob, so they live in the service's own directory,
 * never beside a vault's. Key ids are UUIDs, ARNs `arn:aws:kms:<region>:
 * 000000000000:key/<id>` (the simulation has no account).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EbakError } from '../../errors.js';
import { DEFAULT_POLICY, parsePolicy, type KeyPolicy } from './policy.js';

export const SIMULATED_ACCOUNT = '000000000000';
const FORMAT = 1;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface KeyMetadata {
  KeyId: string;
  Arn: string;
  CreationDate: number; // seconds, as KMS's JSON protocol sends timestamps
  Enabled: true;
  KeyState: 'Enabled';
  KeyUsage: 'ENCRYPT_DECRYPT';
  KeySpec: 'SYMMETRIC_DEFAULT';
  Origin: 'AWS_KMS';
  Description: string;
}

export interface StoredKey {
  metadata: KeyMetadata;
  material: Buffer;
  policy: KeyPolicy;
}

interface KeyFile {
  format: number;
  metadata: KeyMetadata;
  material: string; // base64
  policy: unknown;
}

const keysDir = (dir: string) => join(dir, 'keys');

/** Creates a key with fresh material; `policy` (object or JSON text) defaults to allowing everything, as KMS's default policy does. */
export async function createKey(dir: string, o: { policy?: unknown; description?: string; region?: string } = {}): Promise<KeyMetadata> {
  parsePolicy(o.policy ?? DEFAULT_POLICY); // refuse a malformed policy before anything is written
  const policy: unknown = typeof o.policy === 'string' ? JSON.parse(o.policy) : o.policy ?? DEFAULT_POLICY;
  const id = randomUUID();
  const metadata: KeyMetadata = {
    KeyId: id, Arn: `arn:aws:kms:${o.region ?? 'us-east-1'}:${SIMULATED_ACCOUNT}:key/${id}`, CreationDate: Math.floor(Date.now() / 1000),
    Enabled: true, KeyState: 'Enabled', KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT', Origin: 'AWS_KMS', Description: o.description ?? '',
  };
  const file: KeyFile = { format: FORMAT, metadata, material: randomBytes(32).toString('base64'), policy };
  await mkdir(keysDir(dir), { recursive: true, mode: 0o700 });
  await writeFile(join(keysDir(dir), `${id}.json`), JSON.stringify(file, null, 2) + '\n', { flag: 'wx', mode: 0o600 }).catch((e) => {
    throw new EbakError('IO', `cannot write key file in ${keysDir(dir)}`, { cause: e });
  });
  return metadata;
}

/** The key named by a key id or key ARN; undefined when there is none (aliases are not supported). */
export async function loadKey(dir: string, keyIdOrArn: string): Promise<StoredKey | undefined> {
  const id = keyIdOrArn.startsWith('arn:') ? /:key\/([^/]+)$/.exec(keyIdOrArn)?.[1] : keyIdOrArn;
  if (id === undefined || !UUID.test(id)) return undefined;
  let text: string;
  try {
    text = await readFile(join(keysDir(dir), `${id}.json`), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EbakError('IO', `cannot read key ${id}`, { cause: e });
  }
  return decodeKeyFile(text, id);
}

function decodeKeyFile(text: string, id: string): StoredKey {
  try {
    const f = JSON.parse(text) as KeyFile;
    const material = Buffer.from(f.material, 'base64');
    if (f.format !== FORMAT || f.metadata.KeyId !== id || material.length !== 32) throw new Error('unexpected key file contents');
    return { metadata: f.metadata, material, policy: parsePolicy(f.policy) };
  } catch (e) {
    throw new EbakError('CORRUPT', `the key file of ${id} is damaged`, { cause: e });
  }
}
