/**
 * The exit map (src/cli/exit.ts): the codes restic shares keep their numbers,
 * each error kind with an exit of its own gets a distinct one, README "Exit
 * codes" lists the same, and the errors the vault, attestation and storage
 * layers raise carry the codes the map distinguishes. No child process.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { AttestationError } from '../../src/attestation/index.js';
import { exitCodeFor, EXITS } from '../../src/cli/exit.js';
import { EbakError } from '../../src/errors.js';
import { mapS3Error } from '../../src/storage/s3/errors.js';
import { VaultError } from '../../src/vault/client/errors.js';
import { ROOT } from '../structure/imports.js';

it("keeps restic's numbers and gives every listed code a distinct exit", () => {
  assert.deepEqual([exitCodeFor('NO_REPOSITORY'), exitCodeFor('LOCKED'), exitCodeFor('WRONG_KEY')], [10, 11, 12]);
  assert.deepEqual([exitCodeFor('VAULT_REFUSED'), exitCodeFor('ACCOUNT_LOCKED'), exitCodeFor('ATTESTATION'), exitCodeFor('STORAGE_UNREACHABLE'), exitCodeFor('CANCELLED')], [20, 21, 22, 23, 24]);
  const exits = EXITS.map((e) => e.exit);
  assert.equal(new Set(exits).size, exits.length);
  for (const taken of [0, 1, 3]) assert.ok(!exits.includes(taken), `${taken} is restic's`);
  assert.equal(exitCodeFor('INTERRUPTED'), 130, "Ctrl-C is restic's 130");
  for (const other of ['STORAGE', 'VAULT', 'CORRUPT', 'USAGE', undefined] as const) assert.equal(exitCodeFor(other), 1);
});

it('README "Exit codes" lists every exit of the map with its code', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Exit codes'), readme.indexOf('## Status'));
  const rows = [...section.matchAll(/^\| (\d+) \| .*?\(`([A-Z_]+)`/gm)].map((m) => ({ exit: Number(m[1]), code: m[2] }));
  assert.deepEqual(rows, EXITS.map((e) => ({ exit: e.exit, code: e.code })));
  for (const n of [0, 1, 3]) assert.match(section, new RegExp(`^\\| ${n} \\|`, 'm'));
});

it('a vault refusal is VAULT_REFUSED, a reached guess limit ACCOUNT_LOCKED, a vault failure VAULT', () => {
  const codes = ['forbidden', 'unauthorized', 'step_up_required', 'rate_limited', 'state_rollback', 'locked', 'internal'].map((c) => new VaultError(c, 'x').code);
  assert.deepEqual(codes, ['VAULT_REFUSED', 'VAULT_REFUSED', 'VAULT_REFUSED', 'VAULT_REFUSED', 'VAULT_REFUSED', 'ACCOUNT_LOCKED', 'VAULT']);
  const locked = new VaultError('locked', 'x', 0);
  assert.ok(locked instanceof EbakError && locked.vaultCode === 'locked' && locked.triesLeft === 0);
});

it('an attestation failure is an EbakError ATTESTATION naming its check', () => {
  const e = new AttestationError('pcr', 'PCR0 differs');
  assert.ok(e instanceof EbakError);
  assert.equal(e.code, 'ATTESTATION');
  assert.equal(e.check, 'pcr');
});

it('an S3 endpoint not reached is STORAGE_UNREACHABLE; a dropped connection or a 5xx stays STORAGE', () => {
  const socket = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
  const at = (e: unknown) => mapS3Error(e, 'stat keys/x', 's3:https://h/b', 'b').code;
  for (const code of ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT']) assert.equal(at(socket(code)), 'STORAGE_UNREACHABLE', code);
  assert.equal(at(socket('ECONNRESET')), 'STORAGE');
  assert.equal(at(Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } })), 'STORAGE');
});
