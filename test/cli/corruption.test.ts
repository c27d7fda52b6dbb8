/**
 * The corruption matrix's exit codes through the real CLI, for the object
 * kinds tamper.test.ts does not reach (test/operations/corruption.test.ts
 * runs every kind × every mutation in-process): a retention object, a lock,
 * a write-only key file and a cache entry, each with one flipped bit.
 */
import assert from 'node:assert/strict';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { openRepository, recoveryIdentity } from '../../src/keys/index.js';
import { normalizeRecoveryCode } from '../../src/repository/format/keyfile.js';
import { openBackend } from '../../src/storage/open.js';
import { assertFailed, copyTree, ebak, flipBit, newRepo, repoFiles, tempDir } from './harness.js';

const dir = await tempDir('ebak-corruption-cli-');
const src = join(dir, 'src');
const pristine = join(dir, 'repo');
const recoveryFile = join(dir, 'recovery');
const woPassword = join(dir, 'wo-password');
let caseNo = 0;
let lockName = '';

/** A copy of the pristine repository, with the env that opens it by the recovery key. */
async function copy(): Promise<{ repo: string; env: Record<string, string> }> {
  const repo = join(dir, `case${++caseNo}`);
  await copyTree(pristine, repo);
  return { repo, env: { EBAK_REPOSITORY: repo, EBAK_RECOVERY_KEY_FILE: recoveryFile } };
}

const middle = async (path: string) => flipBit(path, (await readFile(path)).length >> 1);

before(async () => {
  await mkdir(src);
  await writeFile(join(src, 'f.txt'), 'f\n');
  const { env, recoveryKey } = await newRepo(dir);
  await writeFile(recoveryFile, recoveryKey);
  await writeFile(woPassword, 'write only\n');
  const renv = { EBAK_REPOSITORY: env.EBAK_REPOSITORY!, EBAK_RECOVERY_KEY_FILE: recoveryFile };
  const b = await ebak(['backup', src, '--json'], renv);
  assert.equal(b.code, 0, b.stderr);
  assert.equal((await ebak(['key', 'add', '--write-only', '--new-password-file', woPassword], renv)).code, 0);
  const snap = (await repoFiles(pristine, 'snapshots'))[0]!.split('/').at(-1)!;
  const hold = await ebak(['retention', 'hold', 'add', snap.slice(0, 8), '--reason', 'audit'], renv);
  assert.equal(hold.code, 0, hold.stderr);
  // A live shared lock of another host (as a running backup there leaves).
  const backend = await openBackend(pristine, {});
  const repo = await openRepository(backend, [recoveryIdentity(normalizeRecoveryCode(recoveryKey))]);
  lockName = await repo.saveObject('lock', Buffer.from(JSON.stringify({ time: new Date().toISOString(), hostname: 'elsewhere', username: 'u', pid: 1, exclusive: false })));
  await backend.close();
});

describe('one flipped bit, through the CLI', () => {
  it('in the retention object: check names it (exit 1); backup still runs; forget refuses, naming it', async () => {
    const { repo, env } = await copy();
    const name = `retention/${(await repoFiles(repo, 'retention'))[0]!.split('/').at(-1)}`;
    await middle(join(repo, name));
    await rm(join(repo, 'locks', lockName)); // forget's exclusive lock would wait for it
    assertFailed(await ebak(['check'], env), 1, name);
    assert.equal((await ebak(['backup', src], env)).code, 0);
    assertFailed(await ebak(['forget', '--keep-last', '1'], env), 1, name);
  });

  it('in a lock: ignored as unreadable, named in a warning; check and backup exit 0', async () => {
    const { repo, env } = await copy();
    await middle(join(repo, 'locks', lockName));
    const c = await ebak(['check'], env);
    assert.equal(c.code, 0, c.stderr);
    assert.ok(c.stderr.includes(`locks/${lockName}`), c.stderr);
    assert.equal((await ebak(['backup', src], env)).code, 0);
  });

  it('in the write-only key file: its password opens nothing and names it (exit 1); check names it', async () => {
    const { repo, env } = await copy();
    let key = '';
    for (const k of await repoFiles(repo, 'keys')) if ((JSON.parse(await readFile(k, 'utf8')) as { kind: string }).kind === 'write-only') key = k;
    const name = `keys/${key.split('/').at(-1)}`;
    await middle(key);
    assertFailed(await ebak(['backup', src], { EBAK_REPOSITORY: repo, EBAK_PASSWORD: 'write only' }), 1, name);
    assertFailed(await ebak(['check'], env), 1, name);
  });

  it('in a cached snapshot: the cache fetches it again; ls prints the same (exit 0)', async () => {
    const { env } = await copy();
    const cached = { ...env, EBAK_NO_CACHE: '0', EBAK_CACHE_DIR: join(dir, `cache${caseNo}`) };
    const before = await ebak(['ls', 'latest'], cached);
    assert.equal(before.code, 0, before.stderr);
    const [id] = await repoFiles(join(dir, `cache${caseNo}`, (await ebak(['cat', 'config'], env)).stdout.match(/"id":\s*"([0-9a-f]{64})"/)![1]!), 'snapshots');
    await middle(id!);
    const after = await ebak(['ls', 'latest'], cached);
    assert.equal(after.code, 0, after.stderr);
    assert.equal(after.stdout, before.stdout);
  });
});
