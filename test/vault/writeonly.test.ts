/**
 * Write-only vault devices (issue 20) through the real CLI, a real vault
 * (`ebak vault serve` on SoftHSM and the simulated key service) and a real
 * S3-protocol server (s3rver) holding the repository: a full device adds a
 * write-only device (`device add --write-only`, a step-up with the
 * password); its host enrolls with the one-time code and no password, backs
 * up twice (the second deduplicates) and posts its snapshots to the head;
 * every reading, deleting and key command is refused there (exit 25, one
 * line); the full device restores its backups byte-identical and checks
 * them; a storage rollback is refused on the write-only host (exit 26); the
 * vault refuses its session the K-release endpoint, removals from the head
 * and device changes; revoking it makes its next backup fail.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { EbakError } from '../../src/errors.js';
import { deviceClient, loadDevice } from '../../src/vault/client/device.js';
import { softhsm, type SoftHsm } from '../hsm/softhsm.js';
import { deleteObject, getObject, listKeys, putObject, startFixture, type S3Fixture } from '../s3/fixture.js';
import { assertCode, assertFailed, backupSummary, ebak, ebakOk, fileDigests, type RunResult } from '../cli/harness.js';
import { startCliVault } from './platform.js';

const WRITE_ONLY = 25;
const ROLLBACK = 26;
const VAULT_REFUSED = 20;
const PASSWORD = 'correct horse battery';

interface Summary {
  snapshot_id: string;
  data_added: number;
  data_blobs_added: number;
}

const warnings = (r: RunResult) => r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
const writeOnly = (e: unknown) => (e as EbakError).code === 'WRITE_ONLY';

describe('write-only vault devices', { timeout: 600_000 }, () => {
  let dir: string;
  let token: SoftHsm;
  let fx: S3Fixture;
  let src: string;
  let full: Record<string, string>;
  let host: Record<string, string>;
  let account: string;
  let code: string;
  let deviceId: string;
  const backups: Summary[] = [];
  const stops: (() => Promise<unknown>)[] = [];


  const backup = async (env: Record<string, string>) => backupSummary(await ebakOk(['backup', src, '--json'], env)) as Summary;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebak-wo-vault-'));
    token = softhsm(['vault']);
    const vault = await startCliVault(dir);
    stops.push(vault.stop);
    fx = await startFixture();
    stops.unshift(() => fx.stop());
    const storage = fx.env('wodev/repo');
    full = { ...vault.hsmEnv, ...storage, EBAK_VAULT_ROOT: vault.root, EBAK_CONFIG_DIR: join(dir, 'full-device') };
    host = { ...storage, EBAK_VAULT_ROOT: vault.root, EBAK_CONFIG_DIR: join(dir, 'write-only-host') }; // no password, ever
    const init = await ebak(['init', '--vault', vault.url, '--vault-invite', vault.invite, '--json'], { ...full, EBAK_PASSWORD: PASSWORD });
    assert.equal(init.code, 0, init.stderr);
    account = (JSON.parse(init.stdout) as { account: string }).account;
    src = join(dir, 'src');
    await mkdir(join(src, 'sub'), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'from the write-only host\n');
    await writeFile(join(src, 'sub', 'big.bin'), randomBytes(2 * 1024 * 1024));
    await ebakOk(['backup', src], full);
  });
  after(async () => {
    for (const stop of stops) await stop();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a full device adds a write-only device with the password; device list shows its kind', async () => {
    assertFailed(await ebak(['device', 'add', '--write-only', 'nas'], full), 1, 'password');
    const added = await ebakOk(['device', 'add', '--write-only', 'nas', '--json'], { ...full, EBAK_PASSWORD: PASSWORD });
    const r = JSON.parse(added.stdout) as { device: { id: string; kind: string }; enrollment_code: string };
    assert.equal(r.device.kind, 'write-only');
    [deviceId, code] = [r.device.id, r.enrollment_code];
    const out = join(dir, 'second.code');
    await ebakOk(['device', 'add', '--write-only', 'spare', '--out', out], { ...full, EBAK_PASSWORD: PASSWORD });
    assert.equal((await stat(out)).mode & 0o777, 0o600);
    const list = JSON.parse((await ebakOk(['device', 'list', '--json'], full)).stdout) as { devices: { id: string; name: string; kind: string; enrolled?: boolean }[] };
    assert.deepEqual(list.devices.map((d) => [d.name, d.kind, d.enrolled ?? true]).sort(), [['nas', 'write-only', false], ['spare', 'write-only', false], [list.devices.find((d) => d.kind === 'full')!.name, 'full', true]].sort());
  });

  it('the write-only host enrolls once, without the password; backs up twice (the second deduplicates); the head knows its snapshots', async () => {
    assert.ok(code);
    const enrolled = await ebakOk(['login', '--enroll', code, '--json'], host);
    assert.equal((JSON.parse(enrolled.stdout) as { kind: string }).kind, 'write-only');
    assertCode(await ebak(['login', '--enroll', code, '--json'], { ...host, EBAK_CONFIG_DIR: join(dir, 'thief') }), VAULT_REFUSED, 'VAULT_REFUSED'); // once only
    backups.push(await backup(host), await backup(host));
    const [first, second] = backups;
    assert.ok(first!.data_blobs_added > 0);
    assert.equal(second!.data_blobs_added, 0);
    assert.ok(second!.data_added < first!.data_added / 100, `second run added ${second!.data_added} bytes`);
    const snaps = await ebakOk(['snapshots', '--json'], full);
    assert.deepEqual(warnings(snaps), [], 'the head knew every snapshot and index file: the write-only host posted them');
    const ids = (JSON.parse(snaps.stdout) as { id: string }[]).map((s) => s.id);
    for (const b of backups) assert.ok(ids.includes(b.snapshot_id));
  });

  it('every reading, deleting and key command is refused on the write-only host (exit 25, one line)', async () => {
    const contract = [
      ['restore', 'latest', '--target', join(dir, 'refused')], ['ls', 'latest'], ['cat', 'config'], ['diff', 'latest', 'latest'],
      ['dump', 'latest', 'a.txt'], ['forget', '--keep-last', '1'], ['prune'], ['key', 'list'],
    ];
    for (const args of contract) {
      assertFailed(await ebak(args, host), WRITE_ONLY);
      assertCode(await ebak([...args, '--json'], host), WRITE_ONLY, 'WRITE_ONLY');
    }
    const more = [['key', 'add', '--recovery'], ['snapshots'], ['check'], ['device', 'list'], ['device', 'add', '--write-only', 'more'], ['audit']];
    for (const args of more) assertCode(await ebak([...args, '--json'], host), WRITE_ONLY, 'WRITE_ONLY');
  });

  it('the full device restores its backups byte-identical; check --read-data passes', async () => {
    const want = await fileDigests(src);
    for (const [i, b] of backups.entries()) {
      const target = join(dir, `out${i}`);
      await ebakOk(['restore', b.snapshot_id, '--target', target], full);
      assert.deepEqual(await fileDigests(join(target, src)), want);
    }
    await ebakOk(['check', '--read-data'], full);
  });

  it('the vault refuses a write-only session the K-release endpoint, head removals, device, policy and step-up calls; it may post drill records', async () => {
    const d = (await loadDevice(host.EBAK_CONFIG_DIR!, account))!;
    assert.equal(d.format, 2);
    const { client } = await deviceClient(d);
    await assert.rejects(client.deviceKey(d.token, 'backup'), writeOnly);
    await assert.rejects(client.postHead(d.token, { remove_snapshots: [backups[0]!.snapshot_id] }), writeOnly);
    await assert.rejects(client.postHead(d.token, { remove_snapshots: [backups[0]!.snapshot_id], pending: true }), writeOnly);
    await assert.rejects(client.revoke(d.token, d.device_id), writeOnly);
    await assert.rejects(client.devices(d.token), writeOnly);
    await assert.rejects(client.audit(d.token), writeOnly);
    await assert.rejects(client.setPolicy(d.token, { guess_limit: 3 }, 'AAAA'), writeOnly);
    await assert.rejects(client.addWriteOnly(d.token, 'more', 'AAAA', 'AAAA'), writeOnly);
    await assert.rejects(client.stepUp(d.token, account, PASSWORD), writeOnly, 'not even with the password');
    assert.ok((await client.credential(d.token)).credential, 'its sealed credential');
    assert.ok((await client.postDrill(d.token, { plan: 'wo', snapshot: '', files: 0, bytes: 0, ms: 0, verified: false })).seq > 0, 'a restore drill\'s record, typed (POST /v1/drills)');
    assert.ok((await client.head(d.token)).snapshots.includes(backups[1]!.snapshot_id));
  });

  it('a storage rolled back on the S3 server is refused on the write-only host (exit 26), which writes nothing', async () => {
    const before = new Set(await listKeys(fx, 'wodev', 'repo/'));
    await writeFile(join(src, 'new.bin'), randomBytes(100_000));
    await backup(host);
    const added = (await listKeys(fx, 'wodev', 'repo/')).filter((k) => !before.has(k));
    const kept = new Map(await Promise.all(added.map(async (k) => [k, await getObject(fx, 'wodev', k)] as const)));
    for (const k of added) await deleteObject(fx, 'wodev', k);
    const listed = await listKeys(fx, 'wodev', 'repo/');
    assertFailed(await ebak(['backup', src], host), ROLLBACK);
    assertCode(await ebak(['backup', src, '--json'], host), ROLLBACK, 'ROLLBACK');
    assert.deepEqual(await listKeys(fx, 'wodev', 'repo/'), listed, 'a refused backup stores nothing');
    for (const [k, bytes] of kept) await putObject(fx, 'wodev', k, bytes);
    await backup(host);
  });

  it('a write-only session that ends within a week is renewed by its next command: a new token and expiry, the old token refused', async () => {
    const d = (await loadDevice(full.EBAK_CONFIG_DIR!, account))!;
    const { client } = await deviceClient(d);
    const policy = async (session_seconds: number) => client.setPolicy(d.token, { session_seconds }, await client.stepUp(d.token, account, PASSWORD));
    await policy(3600);
    try {
      const out = join(dir, 'short.code');
      await ebakOk(['device', 'add', '--write-only', 'short', '--out', out], { ...full, EBAK_PASSWORD: PASSWORD });
      const shortHost = { ...host, EBAK_CONFIG_DIR: join(dir, 'short-host') };
      await ebakOk(['login', '--enroll-file', out], shortHost);
      const before = (await loadDevice(shortHost.EBAK_CONFIG_DIR, account))!;
      await backup(shortHost);
      const after = (await loadDevice(shortHost.EBAK_CONFIG_DIR, account))!;
      assert.notEqual(after.token, before.token, 'renewed: a new token');
      assert.ok(Date.parse(after.expires_at) >= Date.parse(before.expires_at));
      await assert.rejects((await deviceClient(after)).client.credential(before.token), (e) => (e as { vaultCode?: string }).vaultCode === 'unauthorized');
      await backup(shortHost);
    } finally {
      await policy(30 * 24 * 3600);
    }
  });

  it('revoked by the full device, its next backup fails with the vault\'s refusal', async () => {
    await ebakOk(['device', 'revoke', deviceId], { ...full, EBAK_PASSWORD: PASSWORD });
    assertFailed(await ebak(['backup', src], host), VAULT_REFUSED, 'revoked');
    assertCode(await ebak(['backup', src, '--json'], host), VAULT_REFUSED, 'VAULT_REFUSED');
    const list = JSON.parse((await ebakOk(['device', 'list', '--json'], full)).stdout) as { devices: { id: string; revoked_at?: string }[] };
    assert.ok(list.devices.find((d) => d.id === deviceId)!.revoked_at);
  });
});
