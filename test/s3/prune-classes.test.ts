/**
 * Prune and S3's minimum storage durations (#15, "cold-aware"), against
 * s3rver over HTTPS: an unused data pack in STANDARD_IA (30 days' minimum)
 * written just now is held back, named with its class and the end of its
 * minimum by `prune --dry-run --json`, kept by a prune, and deleted only by
 * `prune --early-delete`. s3rver lists every object as STANDARD, so the
 * proxy gives its listings the class each object was written with (what S3
 * lists); the objects, their ages and the deletes are s3rver's own.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { tempDir } from '../cli/harness.js';
import type { Recorded } from '../storage/proxy.js';
import { classify, initRepo, listKeys, startFixture, type S3Fixture } from './fixture.js';

const dir = await tempDir('ebak-s3-prune-classes-');
const BUCKET = 'prune-classes';
let fx: S3Fixture;
let env: Record<string, string>;
/** The class each object was PUT with, as S3 would list it. */
const classes = new Map<string, string>();
let unusedPack: string;

interface Summary { packs_held: { id: string; storageClass: string; until: string; bytes: number; earlyDeleteUsd: number }[]; early_delete_usd: number; packs_to_delete: string[]; packs_deleted: string[] }

/** Backs `src` up with data packs in STANDARD_IA; returns the data packs it wrote in that class. */
async function backup(src: string): Promise<string[]> {
  fx.proxy.reset();
  const b = await fx.run(['backup', src, '--s3-data-storage-class', 'STANDARD_IA'], env);
  assert.equal(b.code, 0, b.stderr);
  const puts = fx.proxy.requests.map(classify).filter((c) => c.cls === 'put' && c.storageClass !== undefined);
  for (const p of puts) classes.set(p.key, p.storageClass!);
  return puts.filter((p) => p.storageClass === 'STANDARD_IA').map((p) => p.key);
}

/** s3rver's ListObjectsV2 answer with each object's own class. */
function listedClasses(q: Recorded) {
  if (q.method !== 'GET' || !q.url.includes('list-type=2')) return undefined;
  return {
    rewriteBody: (body: Buffer) => Buffer.from(body.toString().replace(/<Contents>([\s\S]*?)<\/Contents>/g, (block, inner: string) => {
      const key = /<Key>([^<]*)<\/Key>/.exec(inner)?.[1] ?? '';
      return block.replace(/<StorageClass>[^<]*<\/StorageClass>/, `<StorageClass>${classes.get(key) ?? 'STANDARD'}</StorageClass>`);
    })),
  };
}

async function prune(args: string[]): Promise<Summary> {
  fx.proxy.reset();
  fx.proxy.fault = listedClasses;
  const r = await fx.run(['prune', '--json', ...args], env);
  fx.proxy.fault = undefined;
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Summary;
}

before(async () => {
  fx = await startFixture();
  env = await initRepo(fx, dir, `${BUCKET}/r`);
  const src = join(dir, 'src');
  await mkdir(src);
  await writeFile(join(src, 'a.bin'), randomBytes(1 << 20));
  [unusedPack] = await backup(src);
  const first = JSON.parse((await fx.run(['snapshots', '--json'], env)).stdout) as { id: string }[];
  await rm(join(src, 'a.bin'));
  await writeFile(join(src, 'b.bin'), randomBytes(1 << 20));
  await backup(src);
  assert.equal((await fx.run(['forget', first[0]!.id], env)).code, 0);
  assert.ok(unusedPack);
});
after(() => fx.stop());

it('an unused STANDARD_IA pack younger than 30 days is held back (named by --dry-run), kept by prune, deleted by --early-delete', async () => {
  const id = unusedPack.split('/').pop()!;
  const dry = await prune(['--dry-run']);
  assert.deepEqual(dry.packs_held.map((h) => [h.id, h.storageClass]), [[id, 'STANDARD_IA']]);
  const until = Date.parse(dry.packs_held[0]!.until);
  assert.ok(Math.abs(until - (Date.now() + 30 * 86_400_000)) < 3600_000, dry.packs_held[0]!.until);
  // What deleting it now would cost: its size × the 30 days left ÷ 30 × STANDARD_IA's $0.0125 per GB-month.
  const { bytes, earlyDeleteUsd } = dry.packs_held[0]!;
  assert.ok(bytes > 1 << 20 && Math.abs(earlyDeleteUsd - (bytes / 2 ** 30) * 0.0125) < 1e-9, `${bytes} B: $${earlyDeleteUsd}`);
  assert.equal(dry.early_delete_usd, earlyDeleteUsd);
  assert.ok(!dry.packs_to_delete.includes(id));

  const kept = await prune([]);
  assert.ok(!kept.packs_deleted.includes(id));
  assert.ok((await listKeys(fx, BUCKET, 'r/data/')).includes(unusedPack), 'still stored');

  const early = await prune(['--early-delete']);
  assert.deepEqual(early.packs_held, []);
  assert.ok(early.packs_deleted.includes(id), JSON.stringify(early));
  assert.ok(!(await listKeys(fx, BUCKET, 'r/data/')).includes(unusedPack), 'deleted');
});
