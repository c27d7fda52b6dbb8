/**
 * The delete credential sealed to the enclave, through the real CLI (issue
 * 15, docs/retention.md "The nitro form"): `ebak vault
 * provision-delete-credentials` encrypts the document under the vault's key
 * on the simulated key service (the production Recipient protocol), and
 * `ebak vault serve --delete-credentials-kms` opens it in the enclave, for a
 * repository on s3rver behind the recording proxy, which plays the IAM
 * policies: the clients' access key may delete only locks and index files.
 * A new ciphertext is picked up without a restart; a ciphertext made for the
 * HSM PIN, an altered one and one whose key refuses this build's PCRs give
 * the vault no credential, each refused in one line.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { configAccount, deviceClient, loadDevice } from '../../src/vault/client/device.js';
import { vaultKeyPolicy } from '../../src/vault/measure.js';
import { PIN, softhsm, type SoftHsm } from '../hsm/softhsm.js';
import { getObject, listKeys, startFixture, type S3Fixture } from '../s3/fixture.js';
import { accessKeyOf } from '../storage/proxy.js';
import { startCliVault, type Platform } from '../vault/platform.js';
import { assertCode, assertFailed, backupSummary, ebak, ebakOk, flipBit, type RunResult } from './harness.js';

const PASSWORD = 'correct horse battery';
const BUCKET = 'sealed';
const PREFIX = 'shop';
const VAULT_SECRET = 'vault-held-secret-key';

describe('the vault holds the delete credential sealed to the enclave', { timeout: 600_000 }, () => {
  let dir: string;
  let token: SoftHsm;
  let fx: S3Fixture;
  let platform: Platform;
  let env: Record<string, string>;
  let hsmEnv: Record<string, string>;
  let stop: (() => Promise<void>) | undefined;
  let account: string;
  let plain: string;
  let sealed: string;

  /** `ebak vault provision-delete-credentials` of `repositories` into `out` (the plaintext removed after, as an operator would). */
  async function provision(repositories: unknown[], out = sealed, kmsFlags = platform.kmsFlags): Promise<RunResult> {
    await writeFile(plain, JSON.stringify({ format: 1, repositories }), { mode: 0o600 });
    const r = await ebak(['vault', 'provision-delete-credentials', '--credentials-file', plain, '--out', out, ...kmsFlags], platform.credentials);
    await rm(plain);
    return r;
  }
  /** A `vault serve` that must refuse to boot (its own directory; the platform's dev CA and key service). */
  const serveOnce = (args: string[]) => ebak(['vault', 'serve', '--dir', join(dir, 'refused'), '--devca', platform.devca, '--listen', '127.0.0.1:0', ...args], { ...hsmEnv, ...platform.credentials });
  const entry = () => ({ account, repository: `s3:${fx.proxy.endpoint}/${BUCKET}/${PREFIX}`, access_key_id: 'EBAKVAULT', secret_access_key: VAULT_SECRET, ca_file: fx.server.tls.certFile });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebak-vault-sealed-'));
    plain = join(dir, 'delete-credentials.json');
    sealed = join(dir, 'delete-credentials.kms');
    token = softhsm(['vault']);
    fx = await startFixture();
    await fx.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    fx.proxy.aliases.add('EBAKVAULT').add('EBAKCLIENT');
    fx.proxy.fault = (r) => (r.method === 'DELETE' && accessKeyOf(r) === 'EBAKCLIENT' && !/\/(locks|index)\//.test(r.url) ? { status: 403, code: 'AccessDenied' } : undefined);
    const vault = await startCliVault(dir, 1, async (p) => {
      platform = p;
      const r = await provision([]);
      assert.equal(r.code, 0, r.stderr);
      return ['--delete-credentials-kms', sealed];
    });
    stop = vault.stop;
    hsmEnv = vault.hsmEnv;
    env = { ...fx.env(`${BUCKET}/${PREFIX}`), AWS_ACCESS_KEY_ID: 'EBAKCLIENT', ...vault.hsmEnv, EBAK_VAULT_ROOT: vault.root, EBAK_CONFIG_DIR: join(dir, 'machine') };
    const init = await ebak(['init', '--vault', vault.url, '--vault-invite', vault.invite], { ...env, EBAK_PASSWORD: PASSWORD });
    assert.equal(init.code, 0, init.stderr);
    account = configAccount(await getObject(fx, BUCKET, `${PREFIX}/config`));
  });
  after(async () => {
    await stop?.();
    await fx?.stop();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const ok = (args: string[]): Promise<RunResult> => ebakOk(args, env);
  async function backup(round: number): Promise<string> {
    const src = join(dir, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'data.bin'), randomBytes(200_000 + round));
    return (backupSummary(await ok(['backup', src, '--json'])) as { snapshot_id: string }).snapshot_id;
  }
  const snapshots = async () => (await listKeys(fx, BUCKET, `${PREFIX}/snapshots/`)).map((k) => k.split('/').pop()!).sort();
  const deletesBy = (key: string, kind: string) => fx.proxy.requests.filter((r) => r.method === 'DELETE' && accessKeyOf(r) === key && r.url.includes(`/${kind}/`)).length;
  async function deleteStatus() {
    const device = (await loadDevice(join(dir, 'machine'), account))!;
    return (await deviceClient(device)).client.deleteStatus(device.token);
  }

  it('a new ciphertext is picked up without a restart, and forget --prune deletes through it what the client\'s own credential cannot', async () => {
    assert.equal((await deleteStatus()).enabled, false, 'no entry for the repository yet');
    const r = await provision([entry()]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(await readFile(sealed)).includes(VAULT_SECRET), 'the file holds no plaintext secret');
    assert.equal((await deleteStatus()).enabled, true, 'the vault read the new ciphertext');

    const ids = [await backup(1), await backup(2)];
    await ok(['forget', '--keep-last', '1', '--prune']);
    assert.deepEqual(await snapshots(), [ids[1]!]);
    assert.equal(deletesBy('EBAKVAULT', 'snapshots'), 1, 'the vault deleted the snapshot');
    assert.ok(deletesBy('EBAKVAULT', 'data') > 0, 'and the packs prune freed');
    assert.equal(deletesBy('EBAKCLIENT', 'snapshots') + deletesBy('EBAKCLIENT', 'data'), 0, 'the client deleted no snapshot and no pack');
    await ok(['check', '--read-data']);
  });

  it('an altered ciphertext in place of the file stops the vault deleting (nothing deleted, backups go on) until a good one returns', async () => {
    const good = join(dir, 'good.kms');
    await copyFile(sealed, good);
    await flipBit(sealed, -20);
    await backup(3);
    const before = await snapshots();
    const forget = await ebak(['forget', '--keep-last', '1', '--prune', '--json'], env);
    assert.equal(forget.code, 1, forget.stderr);
    assert.deepEqual(await snapshots(), before, 'nothing deleted');
    assert.equal(deletesBy('EBAKCLIENT', 'snapshots'), 0, 'the client did not delete instead');
    await copyFile(good, sealed);
    await ok(['forget', '--keep-last', '1', '--prune']);
    assert.equal((await snapshots()).length, 1, 'the vault deletes again');
    await ok(['check']);
  });

  it('serve refuses, in one line, a ciphertext made for the HSM PIN (and the PIN flag one made for delete credentials), an altered one, and one whose key refuses this build', async () => {
    const pinFile = join(dir, 'pin');
    const pinKms = join(dir, 'hsm-pin.kms');
    await writeFile(pinFile, `${PIN}\n`, { mode: 0o600 });
    const pin = await ebak(['vault', 'provision-pin', '--pin-file', pinFile, '--out', pinKms, ...platform.kmsFlags], platform.credentials);
    assert.equal(pin.code, 0, pin.stderr);
    const asDeleters = await serveOnce([...platform.kmsFlags, '--delete-credentials-kms', pinKms]);
    assertFailed(asDeleters, 1, '--delete-credentials-kms');
    assertCode(await serveOnce([...platform.kmsFlags, '--delete-credentials-kms', pinKms, '--json']), 1, 'USAGE');
    assertCode(await serveOnce([...platform.kmsFlags, '--hsm-pin-kms', sealed, '--json']), 1, 'USAGE');

    const altered = join(dir, 'altered.kms');
    await copyFile(sealed, altered);
    await flipBit(altered, -1); // the AEAD tag: the key service finds the key, and the blob does not authenticate
    assertFailed(await serveOnce([...platform.kmsFlags, '--delete-credentials-kms', altered]), 1, altered);
    assertCode(await serveOnce([...platform.kmsFlags, '--delete-credentials-kms', altered, '--json']), 1, 'USAGE');

    // A key whose policy releases plaintext only to another build: Encrypt works (anyone may encrypt), Decrypt to this build does not.
    const pcr = 'ab'.repeat(48);
    await writeFile(join(dir, 'other-policy.json'), JSON.stringify(vaultKeyPolicy({ HashAlgorithm: 'Sha384 { ... }', PCR0: pcr, PCR1: pcr, PCR2: pcr })));
    const made = await ebak(['keyservice', 'create-key', '--dir', join(dir, 'kms'), '--policy', join(dir, 'other-policy.json'), '--json'], platform.credentials);
    assert.equal(made.code, 0, made.stderr);
    const otherKey = (JSON.parse(made.stdout) as { KeyId: string }).KeyId;
    const otherFlags = platform.kmsFlags.map((f, i) => (platform.kmsFlags[i - 1] === '--kms-key-id' ? otherKey : f));
    const otherSealed = join(dir, 'other.kms');
    assert.equal((await provision([entry()], otherSealed, otherFlags)).code, 0);
    const refused = await serveOnce([...otherFlags, '--delete-credentials-kms', otherSealed]);
    assertFailed(refused, 1, 'AccessDeniedException');
    assertCode(await serveOnce([...otherFlags, '--delete-credentials-kms', otherSealed, '--json']), 1, 'VAULT');
  });

  it('nitro mode refuses the plaintext file and names provision-delete-credentials; provision refuses a bad document with every problem, writing nothing', async () => {
    await writeFile(plain, JSON.stringify({ format: 1, repositories: [] }), { mode: 0o600 });
    const nitro = await ebak(['vault', 'serve', '--mode', 'nitro', '--dir', join(dir, 'nitro'), ...platform.kmsFlags, '--delete-credentials', plain], platform.credentials);
    assertFailed(nitro, 1, 'provision-delete-credentials');
    assertCode(await serveOnce([...platform.kmsFlags, '--delete-credentials', plain, '--delete-credentials-kms', sealed, '--json']), 1, 'USAGE');

    await writeFile(plain, JSON.stringify({ format: 2, repositories: [{ account: 'a', colour: 'red' }] }), { mode: 0o600 });
    const out = join(dir, 'bad.kms');
    const bad = await ebak(['vault', 'provision-delete-credentials', '--credentials-file', plain, '--out', out, ...platform.kmsFlags], platform.credentials);
    assertFailed(bad, 1, 'unknown field "colour"');
    for (const problem of ['"format": 1', 'repository is required', 'access_key_id is required']) assert.ok(bad.stderr.includes(problem), `${problem}: ${bad.stderr}`);
    await assert.rejects(readFile(out), 'no ciphertext written');
    assertCode(await ebak(['vault', 'provision-delete-credentials', '--out', out, ...platform.kmsFlags, '--json'], platform.credentials), 1, 'USAGE');
  });
});
