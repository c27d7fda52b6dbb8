/** The version the CLI prints is the package's, and snapshots record it. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { ebak, ROOT } from './harness.js';

it('prints the package version', async () => {
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await ebak(['--version', '--json']);
  assert.equal(r.code, 0);
  assert.equal(JSON.parse(r.stdout).version, pkg.version);
});
