/**
 * The vault's repository head through the real CLI, a real vault (`ebak
 * vault serve` on SoftHSM and the simulated key service) and a real
 * S3-protocol server (s3rver): a repository rolled back on disk or on the S3
 * server, a deleted snapshot object and a replayed index are each refused by
 * the next command (exit 26) with nothing changed; a backup killed before it
 * posted and a forget killed between its two posts raise no alarm; and local
 * mode (no vault) sees none of it, as docs/security.md says.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { deleteObject, getObject, listKeys, putObject, startFixture, type S3Fixture } from '../s3/fixture.js';
import { cliVaultSuite } from '../vault/platform.js';
import { assertCode, assertFailed, ebak, ebakOk, fileDigests, flipBit, killAt, newRepo, type RunResult } from './harness.js';

const ROLLBACK = 26;

/** Every file under `dir` (relative path → digest), for "nothing changed". */
const state = (dir: string) => fileDigests(dir);

describe('repository head (vault mode)', { timeout: 600_000 }, () => {
  const v = cliVaultSuite('ebak-head-', 10);
  let fx: S3Fixture;
  let n = 0;

  before(async () => {
    fx = await startFixture();
    v.onStop(() => fx.stop());
  });

  /** A new vault-mode repository at `location` (a directory, or s3:… with `extra` credentials); returns the env its device session opens it with. */
  async function vaultRepo(location: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const env = { ...v.base, ...extra, EBAK_REPOSITORY: location, EBAK_CONFIG_DIR: join(v.dir, `machine${++n}`) };
    const init = await ebak(['init', '--vault', v.url, '--vault-invite', v.invite], { ...env, EBAK_PASSWORD: 'correct horse battery' });
    assert.equal(init.code, 0, init.stderr);
    return env;
  }

  /** A source directory whose `round` file differs each call, so each backup adds data. */
  async function source(name: string, round: number): Promise<string> {
    const src = join(v.dir, `src-${name}`);
    await mkdir(src, { recursive: true });
    await writeFile(join(src, `round-${round}.bin`), Buffer.alloc(200_000, round));
    return src;
  }


  const snapshotIds = async (env: Record<string, string>) => (JSON.parse((await ebakOk(['snapshots', '--json'], env)).stdout) as { id: string }[]).map((s) => s.id).sort();

  it('a local repository rolled back whole is refused by the next command, which changes nothing', async () => {
    const repo = join(v.dir, 'whole');
    const env = await vaultRepo(repo);
    await ebakOk(['backup', await source('whole', 1)], env);
    await cp(repo, `${repo}.old`, { recursive: true });
    await ebakOk(['backup', await source('whole', 2)], env);
    await rm(repo, { recursive: true });
    await cp(`${repo}.old`, repo, { recursive: true });
    const before = await state(repo);
    assertFailed(await ebak(['snapshots'], env), ROLLBACK);
    assertCode(await ebak(['backup', await source('whole', 3), '--json'], env), ROLLBACK, 'ROLLBACK');
    assert.deepEqual(await state(repo), before, 'a refused command writes nothing');
  });

  it('a repository rolled back on the S3-protocol server is refused', async () => {
    const env = await vaultRepo(fx.env('head/rolled').EBAK_REPOSITORY!, fx.env('head/rolled'));
    await ebakOk(['backup', await source('s3', 1)], env);
    const first = new Set(await listKeys(fx, 'head', 'rolled/'));
    await ebakOk(['backup', await source('s3', 2)], env);
    // Back to last week through the S3 API: what the second backup added is deleted.
    for (const key of await listKeys(fx, 'head', 'rolled/')) if (!first.has(key)) await deleteObject(fx, 'head', key);
    const before = await listKeys(fx, 'head', 'rolled/');
    assertCode(await ebak(['snapshots', '--json'], env), ROLLBACK, 'ROLLBACK');
    assert.deepEqual(await listKeys(fx, 'head', 'rolled/'), before);
  });

  it('a deleted snapshot object is refused', async () => {
    const repo = join(v.dir, 'deleted');
    const env = await vaultRepo(repo);
    await ebakOk(['backup', await source('deleted', 1)], env);
    await ebakOk(['backup', await source('deleted', 2)], env);
    const [victim] = await readdir(join(repo, 'snapshots'));
    await rm(join(repo, 'snapshots', victim!));
    assertFailed(await ebak(['ls', 'latest'], env), ROLLBACK, victim!.slice(0, 16));
  });

  it('an index file put back after forget and prune rewrote the index is refused', async () => {
    const repo = join(v.dir, 'replayed');
    const env = await vaultRepo(repo);
    await ebakOk(['backup', await source('replayed', 1)], env);
    const [oldest] = await snapshotIds(env);
    const oldIndex = new Map<string, Buffer>();
    for (const name of await readdir(join(repo, 'index'))) oldIndex.set(name, await readFile(join(repo, 'index', name)));
    await rm(join(v.dir, 'src-replayed', 'round-1.bin'));
    await ebakOk(['backup', await source('replayed', 2)], env);
    await ebakOk(['forget', oldest!], env);
    await ebakOk(['prune'], env);
    const now = await readdir(join(repo, 'index'));
    const [name, bytes] = [...oldIndex].find(([k]) => !now.includes(k))!;
    assert.ok(name, 'prune removed the first index file');
    assert.equal((await snapshotIds(env)).length, 1, 'the pruned repository opens');
    await writeFile(join(repo, 'index', name), bytes);
    assertFailed(await ebak(['snapshots'], env), ROLLBACK, name.slice(0, 16));
  });

  it('an S3 object put back after forget is refused', async () => {
    const env = await vaultRepo(fx.env('head/putback').EBAK_REPOSITORY!, fx.env('head/putback'));
    await ebakOk(['backup', await source('putback', 1)], env);
    await ebakOk(['backup', await source('putback', 2)], env);
    const [oldest] = await snapshotIds(env);
    const key = `putback/snapshots/${oldest}`;
    const bytes = await getObject(fx, 'head', key);
    await ebakOk(['forget', oldest!], env);
    await putObject(fx, 'head', key, bytes);
    assertFailed(await ebak(['snapshots'], env), ROLLBACK, oldest!.slice(0, 16));
  });

  it('no false alarm: a backup killed before it posted, a forget killed between pending and removed', async () => {
    const repo = join(v.dir, 'crash');
    const env = await vaultRepo(repo);
    await ebakOk(['backup', await source('crash', 1)], env);
    const [first] = await readdir(join(repo, 'snapshots'));
    const killed = await killAt('flush', ['backup', await source('crash', 2)], env);
    assert.equal(killed.signal, 'SIGKILL', killed.stderr);
    const unposted = (await readdir(join(repo, 'snapshots'))).find((s) => s !== first);
    assert.ok(unposted, 'the killed backup stored its snapshot');
    const after1 = await ebakOk(['snapshots', '--json'], env);
    assert.equal(warnings(after1).length, 1, after1.stderr);
    assert.ok(warnings(after1)[0]!.includes(unposted.slice(0, 16)), 'the warning names what the head did not know');
    assert.equal((JSON.parse(after1.stdout) as unknown[]).length, 2);
    assert.deepEqual(warnings(await ebakOk(['snapshots'], env)), [], 'adopted: warned once');

    const [oldest] = await snapshotIds(env);
    const forgot = await killAt('removed', ['forget', oldest!], env);
    assert.equal(forgot.signal, 'SIGKILL', forgot.stderr);
    assert.equal((await readdir(join(repo, 'snapshots'))).length, 1, 'the killed forget deleted the snapshot');
    await ebakOk(['snapshots'], env);
    await ebakOk(['backup', await source('crash', 3)], env);
    await ebakOk(['prune'], env); // finishes the pending removal
    await ebakOk(['check'], env);
    assert.equal((await snapshotIds(env)).length, 2);
  });

  it('every writer posts what it stores and deletes: tag, copy into a vault repository, repair index', async () => {
    const repo = join(v.dir, 'writers');
    const env = await vaultRepo(repo);
    await ebakOk(['backup', await source('writers', 1)], env);
    await ebakOk(['tag', '--add', 'kept', 'latest'], env);
    const local = join(v.dir, 'writers-from');
    await mkdir(local);
    const from = (await newRepo(local)).env;
    await ebakOk(['backup', await source('writers-from', 1)], from);
    await ebakOk(['copy', '--from-repo', from.EBAK_REPOSITORY!], { ...env, EBAK_FROM_PASSWORD: from.EBAK_PASSWORD! });
    const [damaged] = await readdir(join(repo, 'index'));
    await flipBit(join(repo, 'index', damaged!), -1);
    await ebakOk(['repair', 'index'], env);
    const r = await ebakOk(['snapshots', '--json'], env);
    assert.deepEqual(warnings(r), [], 'the head knows every object');
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 2);
    assert.equal((await ebakOk(['check'], env)).code, 0);
    // One audit entry per head change, with counts and the head's digest, never the names.
    const audit = JSON.parse((await ebakOk(['audit', '--json'], env)).stdout) as { entries: { type: string; detail: Record<string, unknown> }[] };
    const changes = audit.entries.filter((e) => e.type === 'head.update');
    assert.ok(changes.length >= 4, 'backup, tag (pending, removed, addition), copy, repair');
    const stored = [...(await readdir(join(repo, 'index'))), ...(await readdir(join(repo, 'snapshots')))];
    for (const { detail } of changes) {
      assert.deepEqual(Object.keys(detail).sort(), ['added', 'confirmed', 'device', 'digest', 'ignored', 'pending', 'removed', 'seq']);
      assert.ok(!stored.some((name) => JSON.stringify(detail).includes(name)));
    }
  });

  it('local mode cannot tell: a rolled-back or thinned repository opens as it is (docs/security.md)', async () => {
    const local = join(v.dir, 'local');
    await mkdir(local);
    const { env } = await newRepo(local);
    const repo = env.EBAK_REPOSITORY!;
    await ebakOk(['backup', await source('local', 1)], env);
    await cp(repo, `${repo}.old`, { recursive: true });
    await ebakOk(['backup', await source('local', 2)], env);
    await rm(repo, { recursive: true });
    await cp(`${repo}.old`, repo, { recursive: true });
    assert.equal((await snapshotIds(env)).length, 1, 'the rollback goes unnoticed: one snapshot, exit 0');
    await ebakOk(['backup', await source('local', 3)], env);
    const [victim] = await readdir(join(repo, 'snapshots'));
    await rm(join(repo, 'snapshots', victim!));
    assert.equal((await snapshotIds(env)).length, 1, 'a deleted snapshot goes unnoticed');
  });
});

const warnings = (r: RunResult) => r.stderr.split('\n').filter((l) => l.startsWith('warning: '));

