/**
 * The package as it installs (issue 17): `bin/ebak` in an unbuilt checkout
 * says what to run instead of a stack trace, the tarball `npm pack` makes
 * carries the built code and the CLI, and `npm install -g` of that tarball
 * gives an `ebak` that starts (`version`). The install here takes its packages from
 * npm's cache where it can (setup.sh's install filled it with the tarballs the
 * lock file names; a fresh machine's cache lacks the registry metadata an
 * install without a lock file resolves with, so `--prefer-offline`, not
 * `--offline`, which failed on a fresh machine) and skips install scripts:
 * building the native addons (pkcs11js, better-sqlite3, zstd-napi) from
 * source takes minutes, so `scripts/check-package.sh` does that whole
 * install, then `ebak --help` and a backup and restore with it.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, readdir } from 'node:fs/promises';
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

it('npm install -g of the packed tarball gives an ebak that starts', { timeout: 300_000 }, async () => {
  const dir = await tempDir('ebak-pack-');
  await run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], { cwd: ROOT });
  const tarball = (await readdir(dir)).find((f) => /^ebak-.*\.tgz$/.test(f));
  assert.ok(tarball, 'npm pack wrote ebak-<version>.tgz');
  const prefix = join(dir, 'prefix');
  await run('npm', ['install', '-g', '--prefix', prefix, join(dir, tarball), '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: dir, maxBuffer: 16 << 20 });
  const bin = join(prefix, 'bin', 'ebak');
  const { stdout: version } = await run(bin, ['version'], { env: { PATH: process.env.PATH } });
  assert.match(version, /^ebak \d+\.\d+\.\d+ \(node v\d+/);
});
