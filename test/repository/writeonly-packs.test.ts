/**
 * The pack record of a write-only backup (issue 15's gap for write-only
 * devices; docs/vault.md "Deletion by the vault"): a write-only credential
 * cannot walk the trees of the snapshot it saved, but every blob of them
 * went through its packer, stored or deduplicated, so it names the packs
 * the snapshot uses (`packsWritten`), which PackSets hands the vault.
 * Checked against the full key's walk of the same snapshot, for a first
 * backup and for a second one that deduplicates against the first's packs.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { backup } from '../../src/archiver/index.js';
import { random } from '../../src/crypto/index.js';
import type { EbakError } from '../../src/errors.js';
import { passwordRecipient } from '../../src/keys/index.js';
import { PackSets } from '../../src/operations/packsets.js';
import { unlock } from '../../src/repository/keyring.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { WriteOnlyRepository } from '../../src/repository/writeonly/repository.js';
import { LocalBackend } from '../../src/storage/local.js';

describe('the packs of a write-only backup', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ebak-wo-packs-'));
  const pool = new WorkerPool(2);
  after(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });
  const backend = new LocalBackend(join(dir, 'repo'));
  const full = await Repository.init(backend, [passwordRecipient('full pw')]);
  await full.addWriteOnlyKey('device pw');
  const unlocked = await unlock(backend, { password: 'device pw' });
  const credential = 'credential' in unlocked ? unlocked.credential : assert.fail('no credential');
  const src = join(dir, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  await writeFile(join(src, 'a.txt'), 'a small file\n');
  await writeFile(join(src, 'sub', 'big.bin'), random(3 * 1024 * 1024));

  /** A backup by a fresh write-only session (as each `ebak backup` is); its snapshot and the packs it names. */
  async function writeOnlyBackup(): Promise<{ id: string; packs: string[] | undefined; session: WriteOnlyRepository }> {
    const session = new WriteOnlyRepository(backend, credential);
    await session.loadIndex();
    const { id } = await backup(session, pool, { paths: [src] });
    return { id, packs: await new PackSets(session).ofSnapshot(id), session };
  }

  /** The packs the full key finds walking the snapshot's trees. */
  async function walked(id: string): Promise<string[] | undefined> {
    await full.loadIndex();
    return new PackSets(full).ofSnapshot(id);
  }

  it('names the packs of its snapshot, as the full key walking the trees finds them', async () => {
    const first = await writeOnlyBackup();
    assert.ok(first.packs && first.packs.length > 0);
    assert.deepEqual(first.packs, await walked(first.id));
  });

  it('a second backup that deduplicates names the first one\'s packs it reuses, and its new ones', async () => {
    await writeFile(join(src, 'new.txt'), 'added before the second backup\n');
    const second = await writeOnlyBackup();
    const want = await walked(second.id);
    assert.deepEqual(second.packs, want);
    const [first] = (await full.listSnapshots()).filter((s) => s !== second.id);
    const reused = (await walked(first!))!.filter((p) => want!.includes(p));
    assert.ok(reused.length > 0, 'the big file\'s data packs are the first backup\'s');
  });

  it('of a snapshot it did not save in this session it knows nothing: refused as write-only', async () => {
    const { session, id } = await writeOnlyBackup();
    const [other] = (await full.listSnapshots()).filter((s) => s !== id);
    await assert.rejects(new PackSets(session).ofSnapshot(other!), (e) => (e as EbakError).code === 'WRITE_ONLY');
  });
});
