/**
 * The README holds: its environment variable table lists exactly the
 * schema's variables (src/config/schema.ts), each with its flag, and every
 * EBAK_* name the source uses is among them; EBAK_COMPRESSION and
 * EBAK_PACK_SIZE stand for their flags; and the local-mode walk-through
 * ("Local repository, password or recovery key") runs as written, line by
 * line under `set -euo pipefail`, in a scratch directory against a fresh
 * repository (the vault walk-through has scripts/demo.sh).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { VARIABLES } from '../../src/config/index.js';
import { assertCode, backupSummary, BIN, ebak, newRepo, ROOT, tempDir } from './harness.js';

const readme = await readFile(join(ROOT, 'README.md'), 'utf8');

/** The text of the README section under `heading`, up to the next heading of any level. */
function section(heading: string): string {
  const start = readme.indexOf(`${heading}\n`);
  assert.ok(start >= 0, `README has ${heading}`);
  const rest = readme.slice(start + heading.length + 1);
  const next = rest.search(/^#{1,4} /m);
  return next < 0 ? rest : rest.slice(0, next);
}

async function sourceFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir, { recursive: true });
  return names.filter((n) => n.endsWith('.ts')).map((n) => join(dir, n));
}

describe('README environment variables', () => {
  const rows = section('### Environment variables').split('\n').filter((l) => /^\| `[A-Z][A-Z0-9_]+` \|/.test(l));
  const table = new Map(rows.map((r) => {
    const cells = r.split(' | ');
    return [cells[0]!.replace(/^\| `|`$/g, ''), cells[1]!.replace(/`/g, '')] as const;
  }));

  it('lists every variable of the schema once, with its flag, and no other', () => {
    assert.equal(rows.length, table.size, 'each once');
    assert.deepEqual([...table.keys()].sort(), VARIABLES.map((v) => v.name).sort());
    for (const v of VARIABLES) assert.equal(table.get(v.name), v.flag ?? '', `${v.name}'s flag`);
  });

  it('the schema has every EBAK_* variable the source names', async () => {
    const names = new Set<string>();
    for (const f of await sourceFiles(join(ROOT, 'src'))) for (const m of (await readFile(f, 'utf8')).matchAll(/EBAK_[A-Z0-9_]*[A-Z0-9]\b/g)) names.add(m[0]);
    assert.ok(names.size > 30, `${names.size} names found`);
    const listed = new Set(VARIABLES.map((v) => v.name));
    for (const n of names) assert.ok(listed.has(n) || [...listed].some((l) => l.startsWith(`${n}_`)), `${n} is in the schema`);
  });
});

describe('EBAK_COMPRESSION and EBAK_PACK_SIZE (restic\'s RESTIC_COMPRESSION, RESTIC_PACK_SIZE)', async () => {
  const dir = await tempDir('ebak-vars-');
  const src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'text.txt'), 'the same words again and again '.repeat(20_000));

  it('stand for --compression and --pack-size; the flags win; a bad value is a usage error', async () => {
    const added = async (extra: Record<string, string>, args: string[] = []) => {
      const { env } = await newRepo(await tempDir('ebak-vars-repo-'));
      const r = await ebak(['backup', src, '--json', ...args], { ...env, ...extra });
      assert.equal(r.code, 0, r.stderr);
      return backupSummary(r).data_added as number;
    };
    const off = await added({ EBAK_COMPRESSION: 'off' });
    const auto = await added({});
    assert.ok(off > 2 * auto, `off ${off} vs auto ${auto}`);
    assert.ok((await added({ EBAK_COMPRESSION: 'off' }, ['--compression', 'auto'])) < off / 2, 'the flag wins');
    assert.equal(await added({ EBAK_PACK_SIZE: '4' }) > 0, true);
    const { env } = await newRepo(dir);
    assertCode(await ebak(['backup', src, '--json'], { ...env, EBAK_COMPRESSION: 'zip' }), 1, 'USAGE');
    assertCode(await ebak(['backup', src, '--json'], { ...env, EBAK_PACK_SIZE: '2' }), 1, 'USAGE');
  });
});

describe('the README local-mode walk-through', () => {
  it('runs as written against a fresh repository', { timeout: 240_000 }, async () => {
    const block = /```sh\n([\s\S]*?)```/.exec(section('### Local repository, password or recovery key'))?.[1];
    assert.ok(block && block.split('\n').filter((l) => l.includes('bin/ebak ')).length >= 20, 'the walk-through has its commands');
    const scratch = await tempDir('ebak-readme-');
    await mkdir(join(scratch, 'bin'));
    await symlink(BIN, join(scratch, 'bin', 'ebak'));
    const script = `set -euo pipefail\nset -x\n${block}`;
    const r = await new Promise<{ code: number; stderr: string }>((resolve, reject) => {
      const child = spawn('bash', ['-c', script], { cwd: scratch, env: { PATH: process.env.PATH, HOME: scratch }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, stderr }));
    });
    assert.equal(r.code, 0, `the walk-through stopped at:\n${r.stderr.split('\n').slice(-12).join('\n')}`);
    assert.equal(await readFile(join(scratch, 'notes.md'), 'utf8'), 'notes\n', 'dump wrote the file back');
  });
});
