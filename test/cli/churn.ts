/**
 * A source tree that keeps changing while it is backed up (issue #14, "Must
 * hold"): a seeded churner grows, shrinks, deletes and renames files and
 * replaces them with directories, symlinks and FIFOs (and directories with
 * files), as fast as the file system lets it, while the real CLI backs the
 * tree up again and again. Every backup must exit 0 or 3 and make a
 * snapshot; every snapshot must restore without a refusal and pass
 * --verify; `check --read-data` must pass at the end.
 *
 * Used by test/cli/churn.test.ts (a few backups) and scripts/soak-churn.sh
 * (minutes, with the seed printed so a failure can be replayed).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readdir, rename, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prng } from '../prng.js';
import { backupSummary, ebak } from './harness.js';

const run = promisify(execFile);

/** The tree's shape: a few directories two levels deep, a few dozen entries. */
const DIRS = ['', 'a', 'b', 'a/x', 'a/y', 'b/z'];
const NAMES = ['f0', 'f1', 'f2', 'f3', 'f4', 'log', 'data.bin', 'link', 'fifo'];

export class Churner {
  private readonly rand: () => number;
  private running = false;
  private loop: Promise<void> | undefined;
  ops = 0;

  constructor(private readonly root: string, seed: number) {
    this.rand = prng(seed);
  }

  async seed(): Promise<void> {
    for (const d of DIRS) await mkdir(join(this.root, d), { recursive: true });
    for (const d of DIRS) for (const n of NAMES.slice(0, 5)) await writeFile(join(this.root, d, n), this.bytes(64 * 1024));
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        await this.step().catch(() => {}); // an op racing another one (a parent just removed) is part of the churn
        this.ops++;
        await new Promise((r) => setImmediate(r));
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  /** Random contents (the sizes and the operations come from the seed; the bytes need not). */
  private bytes(max: number): Buffer {
    return randomBytes(Math.floor(this.rand() * max));
  }

  /** One random change somewhere in the tree. */
  private async step(): Promise<void> {
    const dir = join(this.root, this.pick(DIRS));
    const path = join(dir, this.pick(NAMES));
    const op = this.rand();
    if (op < 0.25) await put(path, this.bytes(256 * 1024), constants.O_APPEND); // a growing log
    else if (op < 0.4) await truncate(path, Math.floor(this.rand() * 32 * 1024)); // shrinking
    else if (op < 0.55) await put(path, this.bytes(2 * 1024 * 1024), constants.O_TRUNC); // rewritten whole
    else if (op < 0.63) await rm(path, { recursive: true, force: true });
    else if (op < 0.7) await rename(path, join(this.root, this.pick(DIRS), this.pick(NAMES)));
    else if (op < 0.77) await this.replace(path, async () => {
      await mkdir(path);
      await writeFile(join(path, 'inner'), this.bytes(16 * 1024));
    });
    else if (op < 0.84) await this.replace(path, () => symlink(this.rand() < 0.5 ? '../f0' : '/nonexistent/target', path));
    else if (op < 0.88) await this.replace(path, () => run('mkfifo', [path]).then(() => {}));
    else if (op < 0.94) await this.replaceDir(dir);
    else await Promise.all((await readdir(dir)).slice(0, 3).map((n) => put(join(dir, n), Buffer.from('x'), constants.O_APPEND)));
  }

  private async replace(path: string, make: () => Promise<void>): Promise<void> {
    await rm(path, { recursive: true, force: true });
    await make();
  }

  /** A whole directory replaced by a file, then (next time) brought back. */
  private async replaceDir(dir: string): Promise<void> {
    if (dir === this.root) return;
    await rm(dir, { recursive: true, force: true });
    if (this.rand() < 0.5) await writeFile(dir, this.bytes(8 * 1024));
    else await mkdir(dir, { recursive: true });
  }
}

/**
 * Writes without ever blocking: a FIFO the churner made where a file was
 * refuses (ENXIO, no reader) instead of hanging a thread-pool thread.
 */
async function put(path: string, data: Buffer, mode: number): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_NONBLOCK | mode, 0o644);
  try {
    await fh.write(data);
  } finally {
    await fh.close();
  }
}

export interface ChurnResult {
  snapshots: string[];
  ops: number;
  exits: number[];
}

/**
 * Backs `src` up `backups` times (or until `until`) while a churner changes
 * it, then restores every snapshot with --verify and checks the repository.
 */
export async function churnBackups(o: { dir: string; env: Record<string, string>; seed: number; backups?: number; until?: number; log?: (s: string) => void }): Promise<ChurnResult> {
  const src = join(o.dir, 'src');
  await mkdir(src, { recursive: true });
  const churner = new Churner(src, o.seed);
  await churner.seed();
  churner.start();
  const snapshots: string[] = [];
  const exits: number[] = [];
  try {
    while (o.backups !== undefined ? snapshots.length < o.backups : Date.now() < o.until!) {
      const b = await ebak(['backup', src, '--json'], o.env);
      exits.push(b.code);
      assert.ok(b.code === 0 || b.code === 3, `seed ${o.seed}: backup ${snapshots.length + 1} exited ${b.code}: ${b.stderr}`);
      const id = (backupSummary(b) as { snapshot_id?: string }).snapshot_id;
      assert.ok(id, `seed ${o.seed}: backup ${snapshots.length + 1} made no snapshot: ${b.stdout}`);
      snapshots.push(id);
      o.log?.(`backup ${snapshots.length}: exit ${b.code}, snapshot ${id.slice(0, 8)}, ${churner.ops} changes so far`);
    }
  } finally {
    await churner.stop();
  }
  for (const [i, id] of snapshots.entries()) {
    const r = await ebak(['restore', id, '--target', join(o.dir, `out-${i}`), '--verify'], o.env);
    assert.equal(r.code, 0, `seed ${o.seed}: restore of snapshot ${i + 1} (${id.slice(0, 8)}): ${r.stderr}`);
    await rm(join(o.dir, `out-${i}`), { recursive: true, force: true });
  }
  const c = await ebak(['check', '--read-data'], o.env);
  assert.equal(c.code, 0, `seed ${o.seed}: check --read-data: ${c.stdout}${c.stderr}`);
  return { snapshots, ops: churner.ops, exits };
}
