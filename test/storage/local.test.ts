/** The conformance suite against the local directory backend, bare and behind the openBackend wrapper stack. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { LocalBackend } from '../../src/storage/local.js';
import { openBackend } from '../../src/storage/open.js';
import { conformance } from './conformance.js';

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ebak-local-'));
  dirs.push(d);
  return join(d, 'repo');
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

conformance('local', async () => new LocalBackend(await freshDir()));
conformance('local via openBackend', async () => openBackend(await freshDir(), {}));
