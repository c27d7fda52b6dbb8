/**
 * The package as it installs (issue 17): `bin/ebak` in an unbuilt checkout
 * says what to run instead of a stack trace, and the tarball `npm pack`
 * makes carries the built code and the CLI.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT, tempDir } from './harness.js';

const run = promisify(execFile);

it('bin/ebak in a checkout that is not built says how to build it, in one line and a hint', async () => {
  const dir = await tempDir();
  await mkdir(join(dir, 'bin'));
  await copyFile(join(ROOT, 'bin', 'ebak'), join(dir, 'bin', 'ebak'));
  const r = await run(process.execPath, [join(dir, 'bin', 'ebak'), '--help']).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^ebak: this checkout is not built yet\nhint: run scripts\/setup\.sh/);
  assert.doesNotMatch(r.stderr, /ERR_MODULE_NOT_FOUND|at .*:\d+/);
});

it('npm pack includes the built CLI and leaves the tests out', async () => {
  const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 16 << 20 });
  const files = (JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
  for (const f of ['bin/ebak', 'dist/src/cli/main.js', 'dist/src/vault/enclave/app.js', 'package.json', 'README.md']) assert.ok(files.includes(f), `${f} is packed`);
  assert.equal(files.filter((f) => f.startsWith('dist/test/') || f.startsWith('src/')).length, 0);
});
