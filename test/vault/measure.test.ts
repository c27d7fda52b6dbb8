/**
 * What PCR0 covers (issue 12): the simulated measurement's bundle is the
 * import closure of the enclave application, so the code that decides — the
 * key service client and its CMS opening, the sealed state and its HSM
 * counters, the service's login, registration, step-up and policy rules —
 * changes PCR0 whenever it changes; the CLI and the backup client do not.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vaultBundle } from '../../src/vault/measure.js';

function bundleFiles(bundle: Buffer): string[] {
  const files: string[] = [];
  let at = 0;
  while (at < bundle.length) {
    const end = bundle.indexOf(0, at);
    const label = bundle.subarray(at, end).toString('utf8');
    if (!label.startsWith('file:')) break;
    const lenEnd = bundle.indexOf(0, end + 1);
    const length = Number(bundle.subarray(end + 1, lenEnd).toString('utf8'));
    files.push(label.slice(5));
    at = lenEnd + 1 + length;
  }
  return files;
}

describe('vault measurement', () => {
  const bundle = vaultBundle();
  const files = bundleFiles(bundle);

  it('PCR0 covers the enclave application: key service client, CMS, sealed state, counters, the service and its policy code', () => {
    for (const f of [
      'src/vault/enclave/app.js', 'src/vault/enclave/root.js', 'src/vault/enclave/keys.js', 'src/kms/client.js', 'src/kms/cms.js',
      'src/vault/state/sealed.js', 'src/hsm/seal.js', 'src/hsm/pkcs11/counters.js', 'src/vault/server/boot.js', 'src/vault/server/login.js',
      'src/vault/server/registration.js', 'src/vault/server/stepup.js', 'src/vault/server/policy.js', 'src/vault/server/devices.js',
      'src/vault/server/http.js', 'src/vault/audit/log.js', 'src/vault/nitro/nsm.js', 'src/attestation/simulate.js',
    ]) assert.ok(files.includes(f), `${f} is not measured`);
  });

  it('and nothing of the CLI or the backup client', () => {
    assert.deepEqual(files.filter((f) => /^src\/(cli|archiver|restorer|checker|repository|storage)\//.test(f)), []);
  });

  it('names the packages it runs with their versions', () => {
    const text = bundle.toString('latin1');
    for (const p of ['@serenity-kit/opaque', '@aws-sdk/client-kms', 'pkcs11js']) assert.match(text, new RegExp(`package:${p.replace('/', '\\/')}@\\d`));
  });
});
