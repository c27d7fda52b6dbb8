/** Shared by the KMS tests: a dev CA, simulated enclaves, a running key service, policies, error assertions. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa, SimulatedNsm, type DevCa } from '../../src/attestation/index.js';
import type { ErrorCode } from '../../src/errors.js';
import { RecipientKms, type RecipientAttester } from '../../src/kms/client.js';
import { createKey, startKeyService, type KeyService } from '../../src/kms/simulated/index.js';

export const CREDENTIALS = { accessKeyId: 'AKIDEBAKTEST', secretAccessKey: 'simulated-secret-key' };
export const BUNDLE = Buffer.from('the ebak vault enclave image');

/** A policy allowing `actions` only to a Recipient whose PCR0 (ImageSha384) and PCR2 are the given ones. */
export function attestedPolicy(pcrs: Map<number, Uint8Array>, actions = ['kms:Decrypt', 'kms:GenerateDataKey']): unknown {
  const hex = (i: number) => Buffer.from(pcrs.get(i)!).toString('hex');
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'provision', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:role/ops' }, Action: 'kms:Encrypt', Resource: '*' },
      {
        Sid: 'enclave only', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::000000000000:role/enclave' }, Action: actions, Resource: '*',
        Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': hex(0).toUpperCase(), 'kms:RecipientAttestation:PCR2': hex(2) } },
      },
    ],
  };
}

export interface Fixture {
  ca: DevCa;
  enclave: SimulatedNsm;
  service: KeyService;
  dir: string;
  keyId: string;
  client(o?: { attester?: RecipientAttester; secret?: string; keyId?: string; endpoint?: string }): RecipientKms;
  stop(): Promise<void>;
}

export async function startFixture(): Promise<Fixture> {
  const ca = createDevCa();
  const enclave = new SimulatedNsm(ca, { bundle: BUNDLE });
  const dir = mkdtempSync(join(tmpdir(), 'ebak-kms-'));
  const service = await startKeyService({ dir, root: ca.root.cert, credentials: CREDENTIALS });
  const { KeyId } = await createKey(dir, { policy: attestedPolicy(enclave.pcrs) });
  const clients: RecipientKms[] = [];
  return {
    ca, enclave, service, dir, keyId: KeyId,
    client(o = {}) {
      const c = new RecipientKms({
        keyId: o.keyId ?? KeyId, region: 'us-east-1', endpoint: o.endpoint ?? service.url, ca: service.ca,
        credentials: { accessKeyId: CREDENTIALS.accessKeyId, secretAccessKey: o.secret ?? CREDENTIALS.secretAccessKey },
        attester: o.attester ?? enclave,
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.close();
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Awaits `p` and asserts it failed with EbakError `code` in one line; returns the message. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, exception?: string): Promise<string> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: string; message: string; cause?: { name?: string } };
    assert.equal(err.code, code, `expected ${code}, got ${String(e)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    if (exception !== undefined) assert.equal(err.cause?.name, exception, err.message);
    return err.message;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}
