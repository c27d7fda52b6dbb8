/**
 * The suite's one shortcut, checked: the harness sets EBAK_TEST_FAST_KDF so
 * new password key files get a token Argon2id cost. Without it (as every
 * user runs) `init`, `key add` and `key passwd` write the defaults; with it,
 * the token cost, and such a key still opens (the reader takes the cost a
 * key file records). The recovery key is HKDF either way.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { ARGON2_DEFAULTS } from '../../src/repository/format/keyfile.js';
import { ebak, tempDir } from './harness.js';

type Kdf = { name: string; memory_kib?: number; iterations?: number; parallelism?: number };

async function kdfs(repo: string): Promise<Kdf[]> {
  const dir = join(repo, 'keys');
  const out: Kdf[] = [];
  for (const f of await readdir(dir)) out.push((JSON.parse(await readFile(join(dir, f), 'utf8')) as { kdf: Kdf }).kdf);
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

const cost = (k: Kdf) => ({ m: k.memory_kib, t: k.iterations, p: k.parallelism });
const DEFAULT = { m: ARGON2_DEFAULTS.memory_kib, t: ARGON2_DEFAULTS.iterations, p: ARGON2_DEFAULTS.parallelism };

for (const fast of [false, true]) {
  it(`${fast ? 'with' : 'without'} EBAK_TEST_FAST_KDF, new password keys get ${fast ? 'the token cost' : "Argon2id's defaults"} and open`, async () => {
    const dir = await tempDir('ebak-kdf-');
    const env = { EBAK_REPOSITORY: join(dir, 'repo'), EBAK_PASSWORD: 'first password', EBAK_TEST_FAST_KDF: fast ? '1' : '' };
    assert.equal((await ebak(['init'], env)).code, 0);
    const pw = join(dir, 'pw');
    await writeFile(pw, 'second password\n');
    const added = await ebak(['key', 'add', '--new-password-file', pw], env);
    assert.equal(added.code, 0, added.stderr);
    const want = fast ? { m: 64, t: 1, p: 1 } : DEFAULT;
    const keys = await kdfs(env.EBAK_REPOSITORY);
    assert.deepEqual(keys.map((k) => k.name), ['argon2id', 'argon2id', 'hkdf-sha256']);
    for (const k of keys.filter((x) => x.name === 'argon2id')) assert.deepEqual(cost(k), want);
    const opened = await ebak(['snapshots', '--json'], { ...env, EBAK_PASSWORD: 'second password' });
    assert.equal(opened.code, 0, opened.stderr);
  });
}
