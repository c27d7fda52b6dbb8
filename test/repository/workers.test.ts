/**
 * The blob worker pool starts its threads as requests need them, not when
 * it is made: a command that ends up sealing and opening nothing (an
 * unchanged re-backup) never pays for an isolate and its modules, and one
 * that seals a few tree blobs (a re-backup whose parent directories
 * changed) pays for one. A further worker starts only when a request finds
 * every started one busy. Threads are counted as the kernel sees them
 * (/proc/self/task).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { WorkerPool } from '../../src/repository/workers.js';

const threads = () => readdirSync('/proc/self/task').length;

describe('worker pool', () => {
  it('starts no thread until a request, then one; another only for a request while it is busy; close ends them', async () => {
    const before = threads();
    const pool = new WorkerPool(2);
    const large = () => pool.seal(randomBytes(32), 0, randomBytes(32), Buffer.from(randomBytes(256 * 1024)), 3);
    try {
      assert.equal(threads(), before, 'no worker thread before the first request');
      const { data } = await pool.seal(randomBytes(32), 0, randomBytes(32), Buffer.from(randomBytes(64)), 3);
      assert.ok(data.length > 64);
      await large();
      assert.equal(threads(), before + 1, 'one request at a time: one worker');
      await Promise.all([large(), large()]);
      assert.equal(threads(), before + 2, 'two at once: a second worker');
      await Promise.all([large(), large(), large()]);
      assert.equal(threads(), before + 2, 'never more than the pool size');
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
