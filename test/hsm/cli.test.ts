import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Context } from '../../src/cli/command.js';
import { hsmCommand } from '../../src/cli/commands/hsm.js';
import { isEbakError } from '../../src/errors.js';
import { MODULE, PIN, SO_PIN, softhsm } from './softhsm.js';

const env = softhsm(['a', 'b']);
after(() => env.cleanup());
const soPinFile = join(env.dir, 'so-pin');
writeFileSync(soPinFile, `${SO_PIN}\n`);

function ctx(token: string) {
  const results: unknown[] = [];
  const c: Context = {
    env: { EBAK_HSM_MODULE: MODULE, EBAK_HSM_TOKEN: token, EBAK_HSM_PIN: PIN },
    globals: {},
    out: { json: true, quiet: false, verbose: false, line: () => {}, info: () => {}, detail: () => {}, result: (v) => results.push(v), record: () => {}, errorRecord: () => {}, warn: () => {}, progress: () => {} },
  };
  return { c, results };
}

async function run(token: string, ...argv: string[]): Promise<Record<string, unknown>> {
  const { c, results } = ctx(token);
  assert.equal(await hsmCommand.run(argv, c), 0);
  return JSON.parse(JSON.stringify(results[0])) as Record<string, unknown>;
}

test('operator flow: init with a new cluster key, rotate, revoke, backup, restore on a second token', async () => {
  const kbkFile = join(env.dir, 'kbk');
  await run('a', 'init', '--ring', 'vault', '--new-cluster-key-file', kbkFile, '--so-pin-file', soPinFile);
  assert.ok(existsSync(kbkFile));
  await run('b', 'init', '--cluster-key-file', kbkFile, '--so-pin-file', soPinFile);
  await run('a', 'rotate', '--ring', 'vault');
  const revoked = await run('a', 'revoke', '--ring', 'vault', '--version', '1', '--reason', 'test', '--destroy');
  assert.equal((revoked.key as { state: string }).state, 'destroyed');
  const backupFile = join(env.dir, 'hsm.bak');
  await run('a', 'backup', '--out', backupFile);
  const restored = await run('b', 'restore', '--in', backupFile);
  assert.equal((restored.restored as unknown[]).length, 2);
  const keys = (await run('b', 'keys')).keys as { ring: string; version: number; state: string; current: boolean }[];
  assert.deepEqual(keys.map((k) => [k.ring, k.version, k.state, k.current]), [['vault', 1, 'destroyed', false], ['vault', 2, 'active', true]]);
});

test('usage errors', async () => {
  const { c } = ctx('a');
  for (const argv of [[], ['frobnicate'], ['rotate'], ['revoke', '--ring', 'vault', '--version', 'x', '--reason', 'r'], ['init']]) {
    await assert.rejects(hsmCommand.run(argv, c), (e) => isEbakError(e, 'USAGE'), argv.join(' '));
  }
  await assert.rejects(hsmCommand.run(['keys'], { ...c, env: { EBAK_HSM_TOKEN: 'a' } }), (e) => isEbakError(e, 'USAGE'));
});
