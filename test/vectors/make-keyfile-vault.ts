/**
 * Writes test/vectors/keyfile-vault.json (docs/format.md "Keys", version 3):
 * run `npx tsc -p . && node dist/test/vectors/make-keyfile-vault.js`. The
 * salt and nonce are fresh at each run, so the files' bytes differ at each
 * regeneration while every outcome does not. Outcomes are stated here by
 * hand; the file is not written when the code disagrees.
 */
import { writeFileSync } from 'node:fs';
import { createKeyFile } from '../../src/repository/format/keyfile.js';
import { CODE, FILE, K, mutate, outcome, type KeyFileVaultVectors } from './keyfile-vault-kit.js';

const meta = { hostname: 'vector-host', username: 'vector-user' };
const v3 = await createKeyFile(K, 'recovery', CODE, { ...meta, vault: { account: 'acct-vector' } });
const text = JSON.stringify(v3, null, 2);
const v1 = await createKeyFile(K, 'recovery', CODE, meta);
const v1Text = JSON.stringify({ version: 1, kind: v1.kind, created: v1.created, hostname: v1.hostname, username: v1.username, vault: { account: 'acct-vector' }, kdf: v1.kdf, data: v1.data }, null, 2);
const v: KeyFileVaultVectors = {
  comment: 'docs/format.md "Keys" (version 3); made by test/vectors/make-keyfile-vault.ts, checked by test/vectors/keyfile-vault.test.ts',
  key: K.toString('hex'),
  recovery_code: CODE,
  v3: { text, aad: `ebak/v1/key\0${JSON.stringify([3, 'recovery', v3.kdf, v3.vault])}` },
  v1_with_vault: { text: v1Text },
  mutations: [
    { name: 'vault removed', field: 'vault', expect: 'CORRUPT' },
    { name: 'another account', field: 'vault', value: { account: 'acct-other' }, expect: 'does not open' },
    { name: 'vault with an extra field', field: 'vault', value: { account: 'acct-vector', x: 1 }, expect: 'CORRUPT' },
    { name: 'empty account', field: 'vault', value: { account: '' }, expect: 'CORRUPT' },
    { name: 'version 1 (the vault field outside the AAD)', field: 'version', value: 1, expect: 'does not open' },
    { name: 'version 4', field: 'version', value: 4, expect: 'UNSUPPORTED_VERSION' },
    { name: 'kind password (the kind is in the AAD)', field: 'kind', value: 'password', expect: 'does not open' },
    { name: 'kind write-only', field: 'kind', value: 'write-only', expect: 'CORRUPT' },
    { name: 'hostname changed (not in the AAD)', field: 'hostname', value: 'elsewhere', expect: 'ok' },
  ],
};

const problems: string[] = [];
if ((await outcome(text)) !== 'ok') problems.push('the version 3 file does not open');
if ((await outcome(v1Text)) !== 'ok') problems.push('the version 1 file does not open');
for (const m of v.mutations) {
  const got = await outcome(mutate(text, m));
  if (got !== m.expect) problems.push(`${m.name}: got ${got}, want ${m.expect}`);
}
if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
writeFileSync(FILE, JSON.stringify(v, null, 2) + '\n');
