/**
 * Key files version 3 (docs/format.md "Keys", `vault`): a key file that
 * names the vault account holding the repository carries the name inside
 * its AAD, so storage that strips or changes it (to hide from a
 * recovery-key session that no vault head checks it) makes the key file
 * open nothing; version 1 files, with or without the unauthenticated field
 * earlier builds wrote, keep opening. Checked on the format and through a
 * recovery-key session over a real local repository. The vectors
 * (test/vectors/keyfile-vault.json) are checked by test/vectors/keyfile-vault.test.ts.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { random } from '../../src/crypto/index.js';
import type { EbakError } from '../../src/errors.js';
import { recoveryIdentity, recoveryRecipient } from '../../src/keys/keyfile.js';
import { createKeyFile, generateRecoveryCode, parseKeyFile, unwrapKeyFile, type KeyFile } from '../../src/repository/format/keyfile.js';
import { Repository } from '../../src/repository/repository.js';
import { LocalBackend } from '../../src/storage/local.js';

const meta = { hostname: 'h', username: 'u' };
const code = generateRecoveryCode();
const K = random(32);
const bytes = (f: unknown) => Buffer.from(JSON.stringify(f, null, 2));
const failsWith = (c: string) => (e: unknown) => (e as EbakError).code === c;

describe('key files version 3: the vault account authenticated', () => {
  it('a key file naming a vault is version 3 and opens; one naming none stays version 1, byte layout unchanged', async () => {
    const v3 = await createKeyFile(K, 'recovery', code, { ...meta, vault: { account: 'acct-1' } });
    assert.equal(v3.version, 3);
    assert.deepEqual(Object.keys(v3), ['version', 'kind', 'created', 'hostname', 'username', 'vault', 'kdf', 'data']);
    assert.deepEqual(await unwrapKeyFile(parseKeyFile(bytes(v3), 'k'), code, 'k'), K);
    const v1 = await createKeyFile(K, 'recovery', code, meta);
    assert.equal(v1.version, 1);
    assert.equal('vault' in v1, false);
  });

  it('stripped, changed or moved to version 1, the vault field makes the key file open nothing or be refused', async () => {
    const f = await createKeyFile(K, 'recovery', code, { ...meta, vault: { account: 'acct-1' } });
    const { vault: _stripped, ...noVault } = f;
    assert.throws(() => parseKeyFile(bytes(noVault), 'k'), failsWith('CORRUPT'), 'version 3 without its vault field');
    for (const bad of [{ account: '' }, { account: 7 }, { account: 'a', extra: 1 }, 'acct-1', null])
      assert.throws(() => parseKeyFile(bytes({ ...f, vault: bad }), 'k'), failsWith('CORRUPT'), JSON.stringify(bad));
    for (const tampered of [{ ...f, vault: { account: 'acct-2' } }, { ...noVault, version: 1 }, { ...f, version: 1 }])
      assert.equal(await unwrapKeyFile(parseKeyFile(bytes(tampered), 'k'), code, 'k'), undefined, JSON.stringify(tampered.vault));
  });

  it('a version 1 file keeps opening, with the unauthenticated vault field earlier builds wrote or without it', async () => {
    const v1 = await createKeyFile(K, 'recovery', code, meta);
    assert.deepEqual(await unwrapKeyFile(parseKeyFile(bytes({ ...v1, vault: { account: 'old' } }), 'k'), code, 'k'), K);
    assert.deepEqual(await unwrapKeyFile(parseKeyFile(bytes(v1), 'k'), code, 'k'), K);
  });
});

describe('a recovery-key session of a vault repository', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  /** A local repository whose one key file is the recovery key's, naming `acct-9`; and that file's path and JSON. */
  async function vaultRepository(): Promise<{ backend: LocalBackend; path: string; file: KeyFile }> {
    const dir = await mkdtemp(join(tmpdir(), 'ebak-kfv-'));
    dirs.push(dir);
    const backend = new LocalBackend(join(dir, 'repo'));
    await Repository.init(backend, [recoveryRecipient(code, { account: 'acct-9' })], {});
    const [name] = await readdir(join(dir, 'repo', 'keys'));
    const path = join(dir, 'repo', 'keys', name!);
    return { backend, path, file: JSON.parse(await readFile(path, 'utf8')) as KeyFile };
  }

  /** Replaces the key file by `f`, named by its SHA-256 as storage that rewrote it would. */
  async function replace(path: string, f: unknown): Promise<void> {
    await unlink(path);
    const b = bytes(f);
    await writeFile(join(path, '..', createHash('sha256').update(b).digest('hex')), b);
  }

  it('learns the account from the key file that opened', async () => {
    const { backend } = await vaultRepository();
    const u = await recoveryIdentity(code).unwrap(backend);
    assert.equal(u && 'vaultAccount' in u ? u.vaultAccount : undefined, 'acct-9');
  });

  it('a key file whose vault field was stripped (and renamed to its new hash) is refused, never opened without the warning', async () => {
    for (const edit of [(f: KeyFile) => ({ ...f, vault: undefined }), (f: KeyFile) => ({ ...f, vault: undefined, version: 1 }), (f: KeyFile) => ({ ...f, vault: { account: 'elsewhere' } })]) {
      const { backend, path, file } = await vaultRepository();
      await replace(path, edit(file));
      await assert.rejects(recoveryIdentity(code).unwrap(backend), (e) => ['AUTH_FAILED', 'WRONG_KEY'].includes((e as EbakError).code));
    }
  });
});
