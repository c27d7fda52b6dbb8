/**
 * The fast test tier (test/structure/unit-tier.txt, run by `scripts/test.sh
 * --unit`) holds only files that start no CLI child process and no server:
 * checked here through each file's imports within test/, so a helper that
 * starts one keeps every file using it out of the tier.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { it } from 'node:test';
import { filesUnder, importsOf, resolveImport, ROOT } from './imports.js';

/** Test helpers that start something slow, and what. */
const SLOW_HELPERS: Record<string, string> = {
  'test/cli/harness.ts': 'runs bin/ebak as a child process',
  'test/s3/fixture.ts': 's3rver and the CLI',
  'test/storage/s3server.ts': 's3rver',
  'test/vault/helpers.ts': 'a vault server over TLS',
  'test/kms/helpers.ts': 'the key service over TLS',
};

/** Files of the tier that may start a short-lived tool (never ebak, never a server). */
const TOOLS: Record<string, string> = {
  'test/hsm/softhsm.ts': 'softhsm2-util --init-token',
  'test/kms/cms.test.ts': 'openssl cms, for interoperability',
};

const SERVER_MODULES = ['node:child_process', 'node:http', 'node:https', 'node:net', 'node:tls'];

function unitTier(): string[] {
  return readFileSync(join(ROOT, 'test/structure/unit-tier.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

/** `file` and every file under test/ it reaches through relative imports, as paths from the checkout. */
function closure(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const spec of importsOf(readFileSync(join(ROOT, file), 'utf8'))) {
    const target = spec.startsWith('.') ? relative(ROOT, resolveImport(join(ROOT, file), spec)) : undefined;
    // existsSync: a specifier quoted in a string (the parser's own test) names no file.
    if (target?.startsWith('test/') && existsSync(join(ROOT, target))) closure(target, seen);
  }
  return seen;
}

it('the unit tier lists existing test files, sorted, each once', () => {
  const tier = unitTier();
  assert.ok(tier.length >= 30, `only ${tier.length} files in the unit tier`);
  for (const f of tier) assert.ok(f.endsWith('.test.ts') && existsSync(join(ROOT, f)), `${f} is not a test file`);
  assert.deepEqual(tier, [...new Set(tier)].sort());
});

it('no file of the unit tier starts the CLI, a server, or a process other than a listed tool', () => {
  for (const test of unitTier()) {
    for (const f of closure(test)) {
      assert.ok(!(f in SLOW_HELPERS), `${test} uses ${f}, which starts ${SLOW_HELPERS[f]}: it belongs in the full tier only`);
      if (f in TOOLS) continue;
      const used = importsOf(readFileSync(join(ROOT, f), 'utf8')).filter((s) => SERVER_MODULES.includes(s));
      assert.deepEqual(used, [], `${test} (through ${f}) imports ${used.join(', ')}`);
    }
  }
});

it('the full tier is every test file, the unit tier a part of it', () => {
  const all = new Set(filesUnder(join(ROOT, 'test'), '.test.ts').map((f) => relative(ROOT, f)));
  const tier = unitTier();
  assert.ok(tier.every((f) => all.has(f)));
  assert.ok(tier.length < all.size, 'some tests are slow');
});
