/**
 * A plan whose retention breaks its repository's retention lock (#18, Vault
 * Lock): shorter than the lock's min-days, or longer than its max-days. It
 * is refused by `plan validate` (RETENTION, naming the plan and the field)
 * and by `plan run` before anything is forgotten: snapshots the plan's
 * retention would remove (older than the lock protects) are all still there.
 * A retention that fits the lock validates and runs.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertCode, ebak, jsonError, newRepo, tempDir } from './harness.js';

const dir = await tempDir('ebak-plans-lock-');
const main = (await newRepo(join(dir, 'main'), 'main pw')).env;
await writeFile(join(dir, 'main.pw'), 'main pw\n');
const src = join(dir, 'src');
await mkdir(src);
await writeFile(join(src, 'a.txt'), 'plan data');
const env = { EBAK_CONFIG_DIR: join(dir, 'config') };
const DAY = 86_400_000;

async function planFile(name: string, retention: string[]): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, [
    'plans:', '  - name: docs', `    repository: ${main.EBAK_REPOSITORY}`, `    password_file: ${join(dir, 'main.pw')}`,
    `    sources: [${src}]`, '    schedule: "@daily"', '    timezone: UTC', '    retention:', ...retention.map((r) => `      ${r}`), '',
  ].join('\n'));
  return file;
}

const snapshotIds = async () => (JSON.parse((await ebak(['snapshots', '--json'], main)).stdout) as { id: string }[]).map((s) => s.id);

describe('plans against the retention lock', () => {
  it('a retention shorter than min-days or longer than max-days is refused by validate and by run; nothing is forgotten', async () => {
    for (const ageDays of [60, 45]) {
      const r = await ebak(['backup', src, '--tag', 'plan:docs', '--time', new Date(Date.now() - ageDays * DAY).toISOString()], main);
      assert.equal(r.code, 0, r.stderr);
    }
    const lock = await ebak(['retention', 'lock', '--min-days', '30', '--max-days', '400'], main);
    assert.equal(lock.code, 0, lock.stderr);
    const before = await snapshotIds();

    const short = await planFile('short', ['days: 7']);
    const v = await ebak(['plan', 'validate', short, '--json'], env);
    assertCode(v, 1, 'RETENTION');
    assert.ok(jsonError(v).message.includes('plan docs: retention.keep-within'), v.stderr);
    const countOnly = await ebak(['plan', 'validate', await planFile('count', ['keep-last: 1']), '--json'], env);
    assertCode(countOnly, 1, 'RETENTION');
    assert.ok(jsonError(countOnly).message.includes('plan docs: retention:'), countOnly.stderr);
    const long = await ebak(['plan', 'validate', await planFile('long', ['days: 30', 'keep-yearly: 5']), '--json'], env);
    assertCode(long, 1, 'RETENTION');
    assert.ok(jsonError(long).message.includes('plan docs: retention.keep-yearly'), long.stderr);

    const run = await ebak(['plan', 'run', 'docs', '--plans', short, '--json'], env);
    assert.equal(run.code, 1, run.stderr);
    const record = JSON.parse(run.stdout) as { ok: boolean; error_code?: string; forgotten?: number };
    assert.equal(record.ok, false);
    assert.equal(record.error_code, 'RETENTION');
    const after = await snapshotIds();
    for (const id of before) assert.ok(after.includes(id), `snapshot ${id.slice(0, 8)} is still there`);

    const fits = await planFile('fits', ['days: 30', 'keep-weekly: 2']);
    assert.equal((await ebak(['plan', 'validate', fits], env)).code, 0);
    const ok = await ebak(['plan', 'run', 'docs', '--plans', fits, '--json'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok((JSON.parse(ok.stdout) as { forgotten: number }).forgotten >= 1, 'a retention that fits the lock forgets what is older than it keeps');
  });
});
