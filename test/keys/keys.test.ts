/**
 * Key custody through src/keys on a real local repository: recipients write
 * key files of their kind; identities open the repository in the one order
 * (a given recovery key, else a device session, else the password), ask for
 * the secret only when it is needed, and tell a wrong secret, a missing
 * repository and "nothing here opens it" apart by code.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isEbakError, type ErrorCode } from '../../src/errors.js';
import {
  deviceIdentity, identitiesFor, openRepository, passwordIdentity, passwordRecipient, recoveryIdentity, recoveryRecipient,
} from '../../src/keys/index.js';
import { generateRecoveryCode } from '../../src/repository/format/keyfile.js';
import { listKeys } from '../../src/repository/keyring.js';
import { Repository } from '../../src/repository/repository.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import { tempDir } from '../cli/harness.js';

const dir = await tempDir('ebak-keys-');
const code = generateRecoveryCode();
const configDir = join(dir, 'config'); // no device files
const rejectsWith = (p: Promise<unknown>, c: ErrorCode) => assert.rejects(p, (e) => isEbakError(e, c));
let backend: OpenedBackend;
let id: string;

before(async () => {
  backend = await openBackend(join(dir, 'repo'), {});
  id = (await Repository.init(backend, [recoveryRecipient(code), passwordRecipient('pw')])).config.id;
});
after(() => backend.close());

describe('keys', () => {
  it('recipients write one key file each, of their kind', async () => {
    assert.equal(recoveryRecipient(code).kind, 'recovery');
    assert.deepEqual((await listKeys(backend)).map((k) => k.file?.kind).sort(), ['password', 'recovery']);
  });

  it('password and recovery identities open the repository and name the key file they used', async () => {
    for (const identity of [passwordIdentity('pw'), recoveryIdentity(code)]) {
      const repo = await openRepository(backend, [identity]);
      assert.equal(repo.config.id, id);
      const inUse = (await identity.unwrap(backend))!.keyId!;
      await rejectsWith(repo.removeKey(inUse.slice(0, 8)), 'USAGE'); // the session's own key is never removed
    }
  });

  it('a wrong secret is WRONG_KEY; no repository is NO_REPOSITORY; nothing that opens it is WRONG_KEY', async () => {
    await rejectsWith(openRepository(backend, [passwordIdentity('nope')]), 'WRONG_KEY');
    const empty = await openBackend(join(dir, 'none'), {});
    await rejectsWith(openRepository(empty, [passwordIdentity('pw')]), 'NO_REPOSITORY');
    await rejectsWith(openRepository(backend, [deviceIdentity(configDir)]), 'WRONG_KEY');
  });

  it('without a device session the password opens it, asked for once; a given recovery key skips the device', async () => {
    assert.equal(await deviceIdentity(configDir).unwrap(backend), undefined);
    let asked = 0;
    const secret = async () => (asked++, { password: 'pw' });
    assert.equal(identitiesFor({ recoveryKeyGiven: false, configDir, secret }).length, 2);
    assert.equal(identitiesFor({ recoveryKeyGiven: true, configDir, secret }).length, 1);
    assert.equal((await openRepository(backend, identitiesFor({ recoveryKeyGiven: false, configDir, secret }))).config.id, id);
    assert.equal(asked, 1);
  });
});
