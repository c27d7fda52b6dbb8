/**
 * `prune --repack-archived` (#15, "cold-aware": prune never rewrites packs in
 * GLACIER/DEEP_ARCHIVE unless told to), against s3rver over HTTPS. A data
 * pack written in DEEP_ARCHIVE holds two files, one of which only a
 * forgotten snapshot used. Without the flag prune leaves it alone; with it,
 * a dry run holds it back (180 days' minimum) and names what repacking it
 * early would cost; with `--early-delete` too, prune asks S3 to restore it,
 * waits, repacks the file still needed and deletes the pack, and the kept
 * snapshot restores byte-identical. s3rver neither lists classes nor plays
 * archives, so the proxy lists each object's class as it was written and
 * plays S3's restore (glacier.ts); the objects and deletes are s3rver's own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { tempDir } from '../cli/harness.js';
import { classify, initRepo, listKeys, startFixture, type S3Fixture } from './fixture.js';
import { GlacierSim } from './glacier.js';

const dir = await tempDir('ebak-s3-prune-archived-');
const BUCKET = 'prune-archived';
const FAST = { EBAK_S3_RESTORE_POLL_SECONDS: '0.05', EBAK_S3_RESTORE_TIMEOUT: '30' };
let fx: S3Fixture;
let env: Record<string, string>;
let packKey: string;
let sim: GlacierSim;
const kept = randomBytes(1 << 20);

interface Summary {
  packs_archived: string[]; packs_to_repack: string[]; packs_deleted: string[];
  packs_held: { id: string; storageClass: string }[];
  packs_restored: { id: string; storageClass: string; until: string; earlyDeleteUsd: number }[];
}

async function prune(args: string[]): Promise<Summary> {
  const r = await fx.run(['prune', '--json', '--max-unused', '0', ...args], { ...env, ...FAST });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

before(async () => {
  fx = await startFixture();
  env = await initRepo(fx, dir, `${BUCKET}/r`);
  const src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'gone.bin'), randomBytes(1 << 20));
  await writeFile(join(src, 'kept.bin'), kept);
  fx.proxy.reset();
  assert.equal((await fx.run(['backup', src, '--s3-data-storage-class', 'DEEP_ARCHIVE'], env)).code, 0);
  const archived = fx.proxy.requests.map(classify).filter((c) => c.cls === 'put' && c.storageClass === 'DEEP_ARCHIVE').map((c) => c.key);
  assert.equal(archived.length, 1, 'one data pack holds both files');
  packKey = archived[0]!;
  const [first] = JSON.parse((await fx.run(['snapshots', '--json'], env)).stdout) as { id: string }[];
  await rm(join(src, 'gone.bin'));
  assert.equal((await fx.run(['backup', src], env)).code, 0);
  assert.equal((await fx.run(['forget', first!.id], env)).code, 0);
  sim = new GlacierSim(new Set([packKey]), 2);
  fx.proxy.fault = sim.fault;
});
after(() => fx.stop());

it('prune repacks a partly used DEEP_ARCHIVE pack only when told to: restored first, the early-delete cost stated', async () => {
  const id = packKey.split('/').pop()!;
  const plain = await prune([]);
  assert.deepEqual([plain.packs_archived, plain.packs_to_repack], [[id], []], 'left alone without the flag');

  const dry = await prune(['--repack-archived', '--dry-run']);
  assert.deepEqual(dry.packs_held.map((h) => [h.id, h.storageClass]), [[id, 'DEEP_ARCHIVE']], 'held back by its 180 days');
  assert.equal(sim.restoreRequests.length, 0, 'nothing restored by a plan');

  const run = await prune(['--repack-archived', '--early-delete']);
  assert.deepEqual(run.packs_restored.map((h) => [h.id, h.storageClass]), [[id, 'DEEP_ARCHIVE']]);
  assert.ok(run.packs_restored[0]!.earlyDeleteUsd > 0, 'repacking it now is billed early');
  assert.deepEqual(sim.restoreRequests, [packKey], 'restored once, before it was read');
  assert.ok(run.packs_deleted.includes(id) && run.packs_to_repack.includes(id), JSON.stringify(run));
  assert.ok(!(await listKeys(fx, BUCKET, 'r/data/')).includes(packKey), 'the archived pack is gone');

  const out = join(dir, 'out');
  const r = await fx.run(['restore', 'latest', '--target', out], env);
  assert.equal(r.code, 0, r.stderr);
  assert.ok((await readFile(join(out, dir, 'src', 'kept.bin'))).equals(kept), 'byte-identical');
  const check = await fx.run(['check', '--read-data'], env);
  assert.equal(check.code, 0, check.stdout + check.stderr);
});
