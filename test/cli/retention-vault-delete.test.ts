/**
 * The vault holds the delete credential, through the real CLI: `ebak vault
 * serve --delete-credentials` for a repository on s3rver, reached through
 * the recording proxy, which plays the IAM policies: the clients' access key
 * may delete only locks and index files, the vault's may delete anything.
 * Beside a legal hold, `forget --prune` deletes snapshots and packs through
 * the vault, keeps the held snapshot and every pack its backup recorded, and
 * the repository stays whole; a patched client can delete neither with its
 * own storage credential (AccessDenied) nor by asking the vault with its
 * valid device session (refused, audited). A backup killed before its head
 * post is adopted by the next command with the packs it walks. A write-only device's backup
 * records its snapshot's packs as well, so holding it pins those packs
 * instead of every pack.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { configAccount, deviceClient, loadDevice } from '../../src/vault/client/device.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { softhsm, type SoftHsm } from '../hsm/softhsm.js';
import { getObject, listKeys, startFixture, type S3Fixture } from '../s3/fixture.js';
import { accessKeyOf } from '../storage/proxy.js';
import { startCliVault } from '../vault/platform.js';
import { assertCode, backupSummary, ebak, killAt, type RunResult } from './harness.js';

const PASSWORD = 'correct horse battery';
const BUCKET = 'held';
const PREFIX = 'shop';

describe('the vault holds the delete credential', { timeout: 600_000 }, () => {
  let dir: string;
  let token: SoftHsm;
  let fx: S3Fixture;
  let env: Record<string, string>;
  let stop: (() => Promise<void>) | undefined;
  let account: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebak-vault-delete-'));
    token = softhsm(['vault']);
    fx = await startFixture();
    await fx.client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    fx.proxy.aliases.add('EBAKVAULT').add('EBAKCLIENT');
    fx.proxy.fault = (r) => (r.method === 'DELETE' && accessKeyOf(r) === 'EBAKCLIENT' && !/\/(locks|index)\//.test(r.url) ? { status: 403, code: 'AccessDenied' } : undefined);
    const credentials = join(dir, 'delete-credentials.json');
    const entries = (repositories: unknown[]) => writeFile(credentials, JSON.stringify({ format: 1, repositories }), { mode: 0o600 });
    await entries([]);
    const vault = await startCliVault(dir, 1, ['--delete-credentials', credentials]);
    stop = vault.stop;
    env = {
      ...fx.env(`${BUCKET}/${PREFIX}`), AWS_ACCESS_KEY_ID: 'EBAKCLIENT', ...vault.hsmEnv, EBAK_VAULT_ROOT: vault.root, EBAK_CONFIG_DIR: join(dir, 'machine'),
    };
    const init = await ebak(['init', '--vault', vault.url, '--vault-invite', vault.invite], { ...env, EBAK_PASSWORD: PASSWORD });
    assert.equal(init.code, 0, init.stderr);
    // The operator learns the account init registered and gives the vault its delete credential (read again, no restart).
    account = configAccount(await getObject(fx, BUCKET, `${PREFIX}/config`));
    await entries([{ account, repository: `s3:${fx.proxy.endpoint}/${BUCKET}/${PREFIX}`, access_key_id: 'EBAKVAULT', secret_access_key: 'vault-held', ca_file: fx.server.tls.certFile }]);
  });
  after(async () => {
    await stop?.();
    await fx?.stop();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ok(args: string[]): Promise<RunResult> {
    const r = await ebak(args, env);
    assert.equal(r.code, 0, `ebak ${args.join(' ')}: ${r.stderr}`);
    return r;
  }
  async function backup(round: number): Promise<string> {
    const src = join(dir, 'src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'data.bin'), randomBytes(200_000 + round));
    return (backupSummary(await ok(['backup', src, '--json'])) as { snapshot_id: string }).snapshot_id;
  }
  const keys = async (kind: 'snapshots' | 'data') => (await listKeys(fx, BUCKET, `${PREFIX}/${kind}/`)).map((k) => k.split('/').pop()!);
  const deletesBy = (key: string, kind: string) => fx.proxy.requests.filter((r) => r.method === 'DELETE' && accessKeyOf(r) === key && r.url.includes(`/${kind}/`)).length;

  it('forget --prune deletes through the vault, keeping a held snapshot\'s packs whole; a patched client can delete neither itself nor through the vault', async () => {
    const ids = [await backup(1), await backup(2), await backup(3)];
    await ok(['retention', 'hold', 'add', ids[0]!.slice(0, 8), '--reason', 'case 7']);
    const device = (await loadDevice(join(dir, 'machine'), account))!;
    const { client } = await deviceClient(device);
    const pinned = (await client.deleteStatus(device.token)).pinned;
    const packsBefore = await keys('data');
    assert.ok(pinned.length > 0 && pinned.every((p) => packsBefore.includes(p)), 'the backup recorded the packs of its snapshot');

    await ok(['forget', '--keep-last', '1', '--prune']);
    assert.deepEqual((await keys('snapshots')).sort(), [ids[0]!, ids[2]!].sort(), 'the held snapshot is kept');
    const packsAfter = await keys('data');
    assert.ok(packsAfter.length < packsBefore.length, 'prune freed packs');
    for (const p of pinned) assert.ok(packsAfter.includes(p), 'the held snapshot\'s packs stay whole');
    assert.ok(deletesBy('EBAKVAULT', 'snapshots') === 1 && deletesBy('EBAKVAULT', 'data') === packsBefore.length - packsAfter.length, 'the vault deleted them');
    assert.equal(deletesBy('EBAKCLIENT', 'snapshots') + deletesBy('EBAKCLIENT', 'data'), 0, 'the client deleted no snapshot and no pack');
    await ok(['check', '--read-data']);

    // A patched client: its own credential cannot delete; the vault, asked with the device session, refuses and audits.
    const own = new S3Client({
      endpoint: fx.proxy.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'EBAKCLIENT', secretAccessKey: 'x' },
      requestHandler: { httpsAgent: new Agent({ ca: fx.server.tls.cert }) },
    });
    await assert.rejects(own.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `${PREFIX}/snapshots/${ids[0]}` })), (e: Error) => e.name === 'AccessDenied');
    own.destroy();
    const refusedRetention = (e: unknown) => e instanceof VaultError && e.code === 'RETENTION';
    await assert.rejects(client.deleteObjects(device.token, { snapshots: [ids[0]!] }), refusedRetention);
    await assert.rejects(client.deleteObjects(device.token, { packs: [pinned[0]!] }), refusedRetention);
    assertCode(await ebak(['forget', ids[0]!, '--json'], env), 1, 'RETENTION');
    assert.deepEqual([(await keys('snapshots')).sort(), await keys('data')], [[ids[0]!, ids[2]!].sort(), packsAfter], 'nothing was deleted');
    const audit = JSON.parse((await ok(['audit', '--json'])).stdout) as { entries: { type: string }[] };
    assert.deepEqual(['retention.refuse', 'retention.delete'].map((t) => audit.entries.filter((e) => e.type === t).length), [3, 2]);
  });

  it('repair snapshots --forget removes the damaged snapshot through the vault, and keeps a held one', async () => {
    const packsBefore = new Set(await keys('data'));
    const damaged = await backup(4);
    const listed = (await fx.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${PREFIX}/data/` }))).Contents ?? [];
    // The backup's largest new pack holds the file's data (its tree pack is small): losing it damages the snapshot, not its root tree.
    const lost = listed.filter((o) => !packsBefore.has(o.Key!.split('/').pop()!)).sort((a, b) => b.Size! - a.Size!)[0]!;
    await fx.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: lost.Key }));
    await ok(['repair', 'index']);
    const before = { vault: deletesBy('EBAKVAULT', 'snapshots'), client: deletesBy('EBAKCLIENT', 'snapshots') };
    const r = await ok(['repair', 'snapshots', damaged.slice(0, 8), '--forget']);
    assert.match(r.stdout, /removed old snapshot/);
    const snapshots = await keys('snapshots');
    assert.ok(!snapshots.includes(damaged) && snapshots.length === 3, 'the damaged snapshot is gone, its repaired copy saved');
    assert.deepEqual([deletesBy('EBAKVAULT', 'snapshots') - before.vault, deletesBy('EBAKCLIENT', 'snapshots') - before.client], [1, 0], 'the vault deleted it');
    const audit = JSON.parse((await ok(['audit', '--json'])).stdout) as { entries: { type: string; }[] };
    assert.equal(audit.entries.filter((e) => e.type === 'retention.delete').length, 3);
    await ok(['check']);
  });

  it('a backup killed before its head post: the next command adopts its snapshot with the packs it walks, so holding it pins them', async () => {
    const before = { snapshots: new Set(await keys('snapshots')), data: new Set(await keys('data')) };
    const src = join(dir, 'crash-src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'crash.bin'), randomBytes(250_000));
    const killed = await killAt('flush', ['backup', src], env);
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    const [unposted] = (await keys('snapshots')).filter((s) => !before.snapshots.has(s));
    const written = (await keys('data')).filter((p) => !before.data.has(p));
    assert.ok(unposted && written.length > 0, 'the killed backup stored its snapshot and packs');
    const adopted = await ok(['snapshots', '--json']);
    assert.match(adopted.stderr, /added to the head/);
    await ok(['retention', 'hold', 'add', unposted.slice(0, 8), '--reason', 'case 9']);
    const device = (await loadDevice(join(dir, 'machine'), account))!;
    const status = await (await deviceClient(device)).client.deleteStatus(device.token);
    assert.equal(status.pinned_all, false, 'the adopted snapshot has a record');
    for (const p of written) assert.ok(status.pinned.includes(p), `its pack ${p.slice(0, 8)} is pinned`);
  });

  it('a write-only device records its snapshot\'s packs too: held, they are pinned, and the other packs stay deletable', async () => {
    const added = JSON.parse((await ebak(['device', 'add', '--write-only', 'nas', '--json'], { ...env, EBAK_PASSWORD: PASSWORD })).stdout) as { enrollment_code: string };
    const host = { ...env, EBAK_CONFIG_DIR: join(dir, 'write-only-host') };
    delete (host as Record<string, string | undefined>).EBAK_PASSWORD;
    assert.equal((await ebak(['login', '--enroll', added.enrollment_code], host)).code, 0);
    const before = new Set(await keys('data'));
    const src = join(dir, 'wo-src');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'nas.bin'), randomBytes(300_000));
    const r = await ebak(['backup', src, '--json'], host);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.includes('not recorded with the vault'), false, r.stderr);
    const id = (backupSummary(r) as { snapshot_id: string }).snapshot_id;
    const written = (await keys('data')).filter((p) => !before.has(p));
    assert.ok(written.length > 0);
    await ok(['retention', 'hold', 'add', id.slice(0, 8), '--reason', 'case 8']);
    const device = (await loadDevice(join(dir, 'machine'), account))!;
    const status = await (await deviceClient(device)).client.deleteStatus(device.token);
    assert.equal(status.pinned_all, false, 'the held write-only snapshot has a record');
    for (const p of written) assert.ok(status.pinned.includes(p), `its pack ${p.slice(0, 8)} is pinned`);
  });
});
