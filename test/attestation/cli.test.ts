/** `ebak attestation verify`, called through its Command like main.ts does. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { attestationCommand } from '../../src/cli/commands/attestation.js';
import type { Context } from '../../src/cli/command.js';
import { AttestationError, createDevCa } from '../../src/attestation/index.js';
import { isEbakError } from '../../src/errors.js';
import { FIXTURES, loadVectors } from './helpers.js';

const [v15, , debug] = loadVectors();
const rootPem = join(FIXTURES, 'aws-nitro-root-g1.pem');

function context() {
  const lines: string[] = [];
  const results: unknown[] = [];
  const ctx: Context = {
    env: {},
    globals: {},
    out: { json: false, quiet: false, verbose: false, line: (t) => lines.push(String(t)), info: (t) => lines.push(t), detail: () => {}, result: (r) => results.push(r), record: () => {}, errorRecord: () => {}, warn: () => {}, progress: () => {} },
  };
  return { ctx, lines, results };
}
const run = (argv: string[]) => {
  const c = context();
  return attestationCommand.run(['verify', ...argv], c.ctx).then((code) => ({ code, ...c }));
};

describe('ebak attestation verify', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ebak-att-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const file = (v: typeof v15) => join(FIXTURES, v!.file);

  it('prints the decoded fields as JSON with hex byte strings', async () => {
    const { code, results, lines } = await run([file(v15), '--root', rootPem, '--at', v15!.at.toISOString(),
      '--nonce', v15!.nonce, '--expect-pcr', `0=${v15!.pcrs[0]}`, '--expect-pcr', `2=${v15!.pcrs[2]}`]);
    assert.equal(code, 0);
    const fields = results[0] as Record<string, unknown>;
    assert.equal(fields.module_id, v15!.moduleId);
    assert.equal(fields.nonce, v15!.nonce);
    assert.equal((fields.pcrs as Record<string, string>)['1'], v15!.pcrs[1]);
    assert.deepEqual(JSON.parse(lines[0]!), fields);
  });

  it('throws the failed check as an EbakError', async () => {
    const base = [file(v15), '--root', rootPem, '--at', v15!.at.toISOString()];
    await assert.rejects(run([...base, '--nonce', '00']), (e) => e instanceof AttestationError && e.check === 'nonce');
    await assert.rejects(run([...base, '--expect-pcr', `1=${'00'.repeat(48)}`]), (e) => e instanceof AttestationError && e.check === 'pcr');
    await assert.rejects(run([...base, '--max-age', '10']), (e) => e instanceof AttestationError && e.check === 'freshness');
    const devRoot = join(dir, 'dev-root.pem');
    await writeFile(devRoot, createDevCa().root.cert.toString());
    await assert.rejects(run([file(v15), '--root', devRoot]), (e) => e instanceof AttestationError && e.check === 'root');
  });

  it('refuses a debug enclave unless --allow-debug', async () => {
    const base = [file(debug), '--root', rootPem, '--at', debug!.at.toISOString(), '--max-age', '3600'];
    await assert.rejects(run(base), (e) => e instanceof AttestationError && e.check === 'debug');
    assert.equal((await run([...base, '--allow-debug'])).code, 0);
  });

  it('reports bad usage and missing files', async () => {
    for (const argv of [[], [file(v15)], [file(v15), '--root', rootPem, '--at', 'yesterday'], [file(v15), '--root', rootPem, '--expect-pcr', '0:ab'],
      [file(v15), '--root', rootPem, '--bogus'], [file(v15), '--root', rootPem, '--max-age', '-1']]) {
      await assert.rejects(run(argv), (e) => isEbakError(e, 'USAGE'), argv.join(' '));
    }
    await assert.rejects(attestationCommand.run(['check'], context().ctx), (e) => isEbakError(e, 'USAGE'));
    await assert.rejects(run([join(dir, 'missing.cbor'), '--root', rootPem]), (e) => isEbakError(e, 'NOT_FOUND'));
    await assert.rejects(run([file(v15), '--root', file(v15)]), (e) => isEbakError(e, 'USAGE')); // not a certificate
  });
});
