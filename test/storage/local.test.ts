/** The conformance suite against the local directory backend, bare and behind the openBackend wrapper stack. */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { EbakError } from '../../src/errors.js';
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

/** Kept pack descriptors (storage/fdcache.ts): reads stay right across more packs than are kept, and a removed pack is gone. */
test('range reads over many packs, a removed pack and a closed backend', async () => {
  const b = new LocalBackend(await freshDir());
  await b.create();
  const packs = Array.from({ length: 40 }, (_, i) => ({ name: createHash('sha256').update(`pack ${i}`).digest('hex'), bytes: randomBytes(4096) }));
  for (const p of packs) await b.save({ type: 'data', name: p.name }, p.bytes);
  // Interleaved: every pack is read several times, with more packs in between than are kept open.
  for (let round = 0; round < 3; round++)
    for (const [i, p] of packs.entries()) {
      const at = (i * 97 + round * 31) % 4000;
      assert.deepEqual(await b.load({ type: 'data', name: p.name }, { offset: at, length: 64 }), p.bytes.subarray(at, at + 64));
    }
  const gone = packs[packs.length - 1]!; // read last, so its descriptor is kept
  await b.remove({ type: 'data', name: gone.name });
  await assert.rejects(b.load({ type: 'data', name: gone.name }, { offset: 0, length: 8 }), (e: unknown) => (e as EbakError).code === 'NOT_FOUND');
  await b.close();
  assert.deepEqual(await b.load({ type: 'data', name: packs[0]!.name }, { offset: 10, length: 10 }), packs[0]!.bytes.subarray(10, 20));
  await b.close();
});

