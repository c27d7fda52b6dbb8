/**
 * The first backup's read-ahead thread (src/archiver/prefetch.ts): it reads
 * the source up to its lead ahead of what the backup has read, no further,
 * goes on as the backup reads, and leaves out what the backup leaves out.
 * Its reads are seen in the process's read counter (/proc/self/io rchar),
 * which counts every thread's reads.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Prefetch } from '../../src/archiver/prefetch.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'ebak-prefetch-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'src/sub'), { recursive: true });
for (let i = 0; i < 4; i++) writeFileSync(join(dir, `src/f${i}`), randomBytes(MiB));
for (let i = 0; i < 4; i++) writeFileSync(join(dir, `src/sub/g${i}`), randomBytes(MiB));
writeFileSync(join(dir, 'src/sub/left-out.iso'), randomBytes(4 * MiB));

const readSoFar = (): number => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

/**
 * The bytes read since `from`, once at least `atLeast` are and they stop growing (the thread is
 * waiting or done; reading the counter itself adds a few hundred bytes). The floor is what the
 * test waits for: on a loaded machine the thread may not have started within one poll. After
 * 30 s it answers whatever was read, for the assertion to report.
 */
async function settled(from: number, atLeast = 0): Promise<number> {
  const deadline = Date.now() + 30_000;
  let [last, now] = [-MiB, readSoFar()];
  while (now - last > 64 * 1024 || (now - from < atLeast && Date.now() < deadline)) {
    last = now;
    await sleep(200);
    now = readSoFar();
  }
  return now - from;
}

it('reads up to its lead ahead of the backup, goes on as the backup reads, and passes over what the backup has read', async () => {
  const before = readSoFar();
  const p = new Prefetch([Buffer.from(join(dir, 'src'))], {}, 2 * MiB);
  try {
    // The files' bytes, and the thread's own modules (a few tens of KiB).
    const first = await settled(before, 2 * MiB);
    assert.ok(first >= 2 * MiB && first < 2.5 * MiB, `read ${first} bytes with a 2 MiB lead`);
    p.read(2 * MiB);
    const next = await settled(before, 4 * MiB);
    assert.ok(next >= 4 * MiB && next < 4.5 * MiB, `read ${next} bytes once the backup read 2 MiB`);
    p.read(64 * MiB); // the backup is past every file: none is read again
    const last = await settled(before);
    assert.ok(last < 4.5 * MiB, `read ${last} bytes after the backup went past`);
  } finally {
    await p.close();
  }
});

it('never reads what the backup leaves out', async () => {
  const before = readSoFar();
  const p = new Prefetch([Buffer.from(join(dir, 'src'))], { excludes: ['*.iso'] }, 64 * MiB);
  try {
    const all = await settled(before, 8 * MiB);
    assert.ok(all >= 8 * MiB && all < 8.5 * MiB, `read ${all} bytes of 8 MiB kept and 4 MiB left out`);
  } finally {
    await p.close();
  }
});

it('stops when closed while it waits for the backup', async () => {
  const p = new Prefetch([Buffer.from(join(dir, 'src'))], {}, MiB);
  await sleep(100);
  await p.close();
});
