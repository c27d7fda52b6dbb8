/**
 * The blob worker pool starts its threads at the first request, not when it
 * is made: a command that ends up sealing and opening nothing (an unchanged
 * re-backup) never pays for two isolates and their modules. Threads are
 * counted as the kernel sees them (/proc/self/task).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { WorkerPool } from '../../src/repository/workers.js';

const threads = () => readdirSync('/proc/self/task').length;

describe('worker pool', () => {
  it('starts no thread until a request, then its workers; close ends them', async () => {
    const before = threads();
    const pool = new WorkerPool(2);
    try {
      assert.equal(threads(), before, 'no worker thread before the first request');
      const { data } = await pool.seal(randomBytes(32), 0, randomBytes(32), Buffer.from(randomBytes(64)), 3);
      assert.ok(data.length > 64);
      assert.equal(threads(), before + 2);
    } finally {
      await pool.close();
    }
    assert.equal(threads(), before);
  });

  it('closes at once when it never started', async () => {
    const pool = new WorkerPool(2);
    await pool.close();
  });
});
