/**
 * Bandwidth limits (--limit-upload / --limit-download): over a real local
 * backend, 1 MiB saved and loaded at 512 KiB/s takes at least 2 s each way,
 * with concurrent requests sharing the one limit, and the bytes are intact.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { LocalBackend } from '../../src/storage/local.js';
import { Pace, RateBackend } from '../../src/storage/rate.js';
import { id } from './conformance.js';

it('saves and loads no faster than the limits, whatever the concurrency', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ebak-rate-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const local = new LocalBackend(dir);
  await local.create();
  const rate = new RateBackend(local, new Pace(512 * 1024), new Pace(512 * 1024));
  const blobs = Array.from({ length: 4 }, () => randomBytes(256 * 1024));
  const handles = blobs.map(() => ({ type: 'snapshots' as const, name: id() }));

  let t = Date.now();
  await Promise.all(blobs.map((b, i) => rate.save(handles[i]!, b)));
  assert.ok(Date.now() - t >= 1900, `1 MiB saved in ${Date.now() - t} ms at 512 KiB/s`);

  t = Date.now();
  const loaded = await Promise.all(handles.map((h) => rate.load(h)));
  assert.ok(Date.now() - t >= 1900, `1 MiB loaded in ${Date.now() - t} ms at 512 KiB/s`);
  loaded.forEach((b, i) => assert.ok(b.equals(blobs[i]!)));
});
