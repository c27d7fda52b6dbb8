/**
 * The byte budget of the blob reader and the packer's sealing (src/util/bytebudget.ts): the
 * bytes of the tasks running never pass the limit, a task larger than the
 * whole budget runs alone, waiters start in order, and a task that fails
 * gives its bytes back.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ByteBudget } from '../../src/util/bytebudget.js';

/** Runs tasks of `sizes` bytes at once, each finishing a turn later; the most bytes seen running, and the order they started in. */
async function runAll(budget: ByteBudget, sizes: number[]): Promise<{ most: number; started: number[] }> {
  let running = 0;
  let most = 0;
  const started: number[] = [];
  await Promise.all(sizes.map((bytes, i) => budget.run(bytes, async () => {
    started.push(i);
    running += Math.min(bytes, budget.limit);
    most = Math.max(most, running);
    await new Promise((r) => setImmediate(r));
    running -= Math.min(bytes, budget.limit);
  })));
  return { most, started };
}

it('holds the bytes running within the limit and starts waiters in order', async () => {
  const { most, started } = await runAll(new ByteBudget(100), [60, 30, 50, 10, 100, 5, 95]);
  assert.ok(most <= 100);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6]);
});

it('runs a task larger than the whole budget alone', async () => {
  const budget = new ByteBudget(100);
  const { most } = await runAll(budget, [10, 500, 10]);
  assert.equal(most, 100);
});

it('a failed task gives its bytes back', async () => {
  const budget = new ByteBudget(100);
  await assert.rejects(budget.run(100, async () => Promise.reject(new Error('read failed'))));
  assert.equal(await budget.run(100, async () => 'next'), 'next');
});

it('tryTake takes only bytes that are free while nobody waits; give lets the waiters in, in order', async () => {
  const budget = new ByteBudget(100);
  assert.equal(budget.tryTake(70), true);
  assert.equal(budget.tryTake(40), false);
  const order: string[] = [];
  const waiting = [budget.take(50).then(() => order.push('50')), budget.take(10).then(() => order.push('10'))];
  assert.equal(budget.tryTake(10), false, 'someone waits: no overtaking');
  budget.give(70);
  await Promise.all(waiting);
  assert.deepEqual(order, ['50', '10']);
  budget.give(50);
  budget.give(10);
  assert.equal(budget.tryTake(500), true, 'more than the whole budget takes all of it');
  assert.equal(budget.tryTake(1), false);
});
