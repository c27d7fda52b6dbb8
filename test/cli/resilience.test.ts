/** One damaged object must not take the whole repository down with it. */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { it } from 'node:test';
import { assertFailed, ebak, flipBit, newRepo, repoFiles, tempDir } from './harness.js';

it('a damaged snapshot is reported but blocks neither backup nor the listing of the others', async () => {
  const dir = await tempDir();
  const src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'a'), 'first');
  const { env } = await newRepo(dir);
  assert.equal((await ebak(['backup', src, '--time', '2020-01-01T00:00:00Z'], env)).code, 0);
  const [damaged] = await repoFiles(env.EBAK_REPOSITORY!, 'snapshots');
  await flipBit(damaged!, 40);
  await writeFile(join(src, 'b'), 'second');
  const b = await ebak(['backup', src], env);
  assert.equal(b.code, 0, b.stderr);
  assert.match(b.stderr, new RegExp(`warning: snapshots/${basename(damaged!)}.*not used as a parent`));
  const list = await ebak(['snapshots'], env);
  assertFailed(list, 1, `snapshots/${basename(damaged!)}`);
  assert.match(list.stdout, /^1 snapshot$/m, 'the intact snapshot is still listed');
});
