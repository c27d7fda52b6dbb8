/**
 * Restore drills in the vault's audit log (#18), through the real CLI and
 * a real vault (`ebak vault serve` on SoftHSM and the simulated key
 * service): `plan run --drill` on a vault-mode repository appends the
 * drill's result (plan, snapshot, files, bytes, ms, verified) as a "drill"
 * event of the account, with the posting device; `ebak audit` shows it and
 * `vault audit verify` verifies the chain holding it. The endpoint writes
 * drill events only: a body naming another type, an unknown field, the
 * device, or an oversized text is refused and appends nothing.
 *
 * The same vault-mode repository is also the source of `copy --from-vault`
 * (#18's contract) on a new machine: copy logs in with the source password
 * and keeps the device session; a second copy uploads nothing; a session
 * for another vault, or no password, is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deviceClient, loadDevice } from '../../src/vault/client/device.js';
import type { VaultError } from '../../src/vault/client/errors.js';
import { MAX_FIRST_BAD, type DrillRecordRequest } from '../../src/vault/protocol.js';
import { softhsm, type SoftHsm } from '../hsm/softhsm.js';
import { startCliVault } from '../vault/platform.js';
import { assertCode, ebak, type RunResult } from './harness.js';

const PASSWORD = 'correct horse battery';

interface Entry { seq: number; type: string; account: string; detail: Record<string, unknown> }

describe('restore drills in the vault\'s audit log', { timeout: 600_000 }, () => {
  let dir: string;
  let token: SoftHsm;
  let url: string;
  let env: Record<string, string>;
  let plans: string;
  const stops: (() => Promise<unknown>)[] = [];

  async function ok(args: string[], e = env): Promise<RunResult> {
    const r = await ebak(args, e);
    assert.equal(r.code, 0, `ebak ${args.join(' ')}: ${r.stderr}`);
    return r;
  }
  const entries = async () => (JSON.parse((await ok(['audit', '--json'])).stdout) as { entries: Entry[] }).entries;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ebak-drill-vault-'));
    token = softhsm(['vault']);
    const vault = await startCliVault(dir);
    stops.push(vault.stop);
    url = vault.url;
    const repo = join(dir, 'repo');
    env = { ...vault.hsmEnv, EBAK_VAULT_ROOT: vault.root, EBAK_REPOSITORY: repo, EBAK_CONFIG_DIR: join(dir, 'machine') };
    await ok(['init', '--vault', url, '--vault-invite', vault.invite], { ...env, EBAK_PASSWORD: PASSWORD });
    const src = join(dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'drilled through the vault\n');
    plans = join(dir, 'plans.yaml');
    await writeFile(plans, ['plans:', '  - name: vaulted', `    repository: ${repo}`, `    sources: [${src}]`, '    schedule: "@daily"', '    restore_test: { schedule: "@weekly" }', ''].join('\n'));
    await ok(['plan', 'run', 'vaulted', '--plans', plans]);
  });
  after(async () => {
    for (const stop of stops) await stop();
    token?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('plan run --drill appends its result as a drill event; ebak audit shows it; vault audit verify passes', async () => {
    const r = await ok(['plan', 'run', 'vaulted', '--drill', '--plans', plans, '--json']);
    const drill = (JSON.parse(r.stdout) as { drill: { snapshot: string; files: number; bytes: number; ms: number; verified: boolean; audit_seq: number } }).drill;
    assert.ok(drill.verified && drill.audit_seq > 0, r.stdout);
    const drills = (await entries()).filter((e) => e.type === 'drill');
    assert.equal(drills.length, 1);
    const d = (await loadDevice(env.EBAK_CONFIG_DIR!, drills[0]!.account))!;
    assert.equal(drills[0]!.seq, drill.audit_seq);
    assert.deepEqual(drills[0]!.detail, { plan: 'vaulted', snapshot: drill.snapshot, files: drill.files, bytes: drill.bytes, ms: drill.ms, verified: true, device: d.device_id });
    const shown = await ok(['audit']);
    assert.ok(shown.stdout.split('\n').some((l) => l.includes('drill') && l.includes('vaulted') && l.includes(drill.snapshot.slice(0, 8))), shown.stdout);
    const verify = await ok(['vault', 'audit', 'verify', '--dir', join(dir, 'vault'), '--vault', url, '--operator-key-file', join(dir, 'operator.pem'), '--json']);
    assert.ok((JSON.parse(verify.stdout) as { entries: number }).entries >= drill.audit_seq);
  });

  it('copy --from-vault on a new machine logs in to the source\'s vault, copies, and a second copy uploads nothing', async () => {
    const target = { EBAK_REPOSITORY: join(dir, 'copy-target'), EBAK_PASSWORD: 'target password', EBAK_CONFIG_DIR: join(dir, 'new-machine') };
    await ok(['init'], target);
    const from = { ...target, EBAK_VAULT_ROOT: env.EBAK_VAULT_ROOT!, EBAK_FROM_REPOSITORY: env.EBAK_REPOSITORY! };
    const noPassword = await ebak(['copy', '--from-vault', url, '--json'], from);
    assertCode(noPassword, 1, 'USAGE');
    const copied = JSON.parse((await ok(['copy', '--from-vault', url, '--json'], { ...from, EBAK_FROM_PASSWORD: PASSWORD })).stdout) as { copied: unknown[]; blobs_added: number };
    assert.ok(copied.copied.length >= 1 && copied.blobs_added > 0, JSON.stringify(copied));
    const again = JSON.parse((await ok(['copy', '--from-vault', url, '--json'], from)).stdout) as { copied: unknown[]; skipped: number; blobs_added: number };
    assert.deepEqual([again.copied.length, again.blobs_added], [0, 0], 'the kept device session opens the source; nothing is uploaded again');
    assert.equal(again.skipped, copied.copied.length);
    assertCode(await ebak(['copy', '--from-vault', 'https://127.0.0.1:1', '--json'], from), 1, 'USAGE');
    const restored = join(dir, 'copy-restored');
    await ok(['restore', 'latest', '--target', restored], target);
    assert.equal(await readFile(join(restored, dir, 'src', 'a.txt'), 'utf8'), 'drilled through the vault\n');
  });

  it('the endpoint writes drill events only: another type, an unknown field, the device or an oversized text is refused, nothing appended', async () => {
    const before = await entries();
    const d = (await loadDevice(env.EBAK_CONFIG_DIR!, before[0]!.account))!;
    const { client } = await deviceClient(d);
    const good: DrillRecordRequest = { plan: 'vaulted', snapshot: 'ab'.repeat(32), files: 1, bytes: 2, ms: 3, verified: false, first_bad: '/a.txt: damaged' };
    const refused = (e: unknown) => (e as VaultError).vaultCode === 'bad_request';
    for (const forged of [
      { ...good, type: 'key.release' }, { ...good, account: 'someone-else' }, { ...good, device: 'f'.repeat(32) }, { ...good, detail: {} },
      { ...good, first_bad: 'x'.repeat(MAX_FIRST_BAD + 1) }, { ...good, first_bad: 'line\nbreak' }, { ...good, files: -1 }, { ...good, verified: 'yes' }, { ...good, plan: '../x' },
    ]) await assert.rejects(client.postDrill(d.token, forged as DrillRecordRequest), refused, JSON.stringify(forged).slice(0, 80));
    assert.deepEqual((await entries()).map((e) => e.type), before.map((e) => e.type), 'nothing appended');
    const { seq } = await client.postDrill(d.token, good);
    const last = (await entries()).at(-1)!;
    assert.deepEqual([last.seq, last.type, last.detail.device], [seq, 'drill', d.device_id]);
  });
});
