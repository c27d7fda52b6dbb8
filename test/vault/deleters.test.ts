/**
 * The delete credentials reader (src/cli/commands/vault-deleters.ts) as the
 * vault's Deleters: a sealed file is opened once per change of the file,
 * however many deletions ask together, and a document that became invalid
 * fails every deletion without being opened again until the file changes
 * (docs/retention.md: one Decrypt per change). The opener here counts and returns the bytes unchanged; the
 * key service's decryption is tested through the CLI
 * (test/cli/retention-vault-sealed.test.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readDeleteCredentials } from '../../src/cli/commands/vault-deleters.js';
import { isEbakError } from '../../src/errors.js';
import { replaceFile } from '../../src/util/fs.js';

const entry = (account: string) => ({ account, repository: `/tmp/ebak-deleters-${account}`, access_key_id: 'AKID', secret_access_key: 'secret' });
const doc = (...accounts: string[]) => Buffer.from(JSON.stringify({ format: 1, repositories: accounts.map(entry) }));

describe('delete credentials read again on change', () => {
  let dir: string;
  let file: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ebak-deleters-'));
    file = join(dir, 'credentials.kms');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('opens the file once per change, shared by deletions asked together; a bad document stays refused until the file changes', async () => {
    let opens = 0;
    const open = async (b: Buffer) => (opens++, Buffer.from(b));
    await replaceFile(file, doc('a'), 0o600);
    const deleters = await readDeleteCredentials(file, open);
    assert.equal(opens, 1);
    const first = await Promise.all([deleters('a'), deleters('a'), deleters('b')]);
    assert.deepEqual([first.map((d) => d !== undefined), opens], [[true, true, false], 1], 'unchanged: not opened again');

    await replaceFile(file, doc('a', 'b'), 0o600);
    const second = await Promise.all([deleters('b'), deleters('b'), deleters('a')]);
    assert.deepEqual([second.map((d) => d !== undefined), opens], [[true, true, true], 2], 'changed: opened once for all three');

    await replaceFile(file, Buffer.from(JSON.stringify({ format: 2, repositories: [] })), 0o600);
    // Every deletion fails, for any account (the vault deletes nothing), without opening the file again; the lookup itself answers.
    for (const account of ['a', 'c']) {
      const broken = await deleters(account);
      await assert.rejects(broken!.remove('snapshots', 'x'), (e) => isEbakError(e, 'USAGE') && e.message.startsWith(`--delete-credentials-kms ${file}: `));
    }
    assert.equal(opens, 3, 'the bad document was opened once');
    await replaceFile(file, doc('b'), 0o600);
    assert.deepEqual([await deleters('a'), (await deleters('b')) !== undefined, opens], [undefined, true, 4]);
  });

  it('refuses at once a file it cannot read or open', async () => {
    await assert.rejects(readDeleteCredentials(join(dir, 'missing')), (e) => isEbakError(e, 'USAGE') && /missing: ENOENT$/.test(e.message));
    await writeFile(join(dir, 'garbage'), 'not json');
    await assert.rejects(readDeleteCredentials(join(dir, 'garbage')), (e) => isEbakError(e, 'USAGE') && e.message.endsWith('not valid JSON'));
  });
});
