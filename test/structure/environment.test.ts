/**
 * src/config is the one reader of the environment (README "Design"): no
 * other source file touches `process.env`, but the few ALLOWED with their
 * reasons, and none reads a variable by name from an environment object
 * (`env.AWS_REGION`, `env['EBAK_…']`): a command hands `ctx.env` to
 * src/config and receives typed settings.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'node:test';
import { filesUnder, ROOT } from './imports.js';

const SRC = join(ROOT, 'src');

/** Files outside src/config that name `process.env`, and why. */
const ALLOWED: Record<string, string> = {
  'cli/main.ts': 'the entry point: it hands the process environment to the command (ctx.env), which passes it to src/config',
  'kms/client.ts': 'sets the AWS SDK\'s own switch that silences its Node version warning (the enclave does not start through bin/ebak); reads no setting',
};

const outsideConfig = () => filesUnder(SRC).map((f) => relative(SRC, f)).filter((f) => !f.startsWith('config/'));
const text = (rel: string) => readFileSync(join(SRC, rel), 'utf8');

it('only src/config and the allowed files name process.env', () => {
  const naming = outsideConfig().filter((f) => /\bprocess\.env\b/.test(text(f).replace(/^\s*(\/\/|\*).*$/gm, '')));
  assert.deepEqual(naming.filter((f) => !(f in ALLOWED)), []);
  for (const f of Object.keys(ALLOWED)) assert.ok(naming.includes(f), `src/${f} no longer names process.env: remove it from ALLOWED`);
});

it('no source file outside src/config reads a variable by name', () => {
  const byName = /\benv(?:\.[A-Z][A-Z0-9_]{2,}\b|\[['"`])/;
  assert.ok(byName.test('ctx.env.AWS_REGION') && byName.test("env['EBAK_X']") && !byName.test('ctx.env, opts'), 'the pattern finds reads by name');
  const reading = outsideConfig().filter((f) => !(f in ALLOWED) && text(f).split('\n').some((l) => byName.test(l) && !/^\s*(\/\/|\*)/.test(l)));
  assert.deepEqual(reading, []);
});
