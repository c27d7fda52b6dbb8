/**
 * The plan state file (src/plans/state.ts) written by two processes at
 * once, as `plan run --drill` beside the daemon does: each save merges what
 * the other recorded meanwhile, so neither run is lost; the later due slot
 * wins.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { PlanStateFile, type RunRecord } from '../../src/plans/state.js';

const run = (started: string, drill = false): RunRecord => ({ scheduled: started, started, ms: 1, ok: true, ...(drill ? { drill: { snapshot: '', files: 0, bytes: 0, ms: 0, verified: true } } : {}) });

it('two writers of one state file keep each other\'s runs and the latest due slot', async () => {
  const path = join(await mkdtemp(join(tmpdir(), 'ebak-state-')), 'plan-state.json');
  const daemon = PlanStateFile.open(path);
  const byHand = PlanStateFile.open(path);
  await daemon.record('p', run('2026-01-01T00:00:00.000Z'));
  byHand.setLastDue('p', Date.parse('2026-01-01T12:00:00.000Z'), 'drill');
  await byHand.record('p', run('2026-01-01T12:00:00.000Z', true));
  daemon.setLastDue('p', Date.parse('2026-01-02T00:00:00.000Z'), 'backup');
  await daemon.record('p', run('2026-01-02T00:00:00.000Z'));
  await daemon.save();
  const reread = PlanStateFile.open(path);
  assert.deepEqual(reread.runs('p').map((r) => [r.started, r.drill !== undefined]), [
    ['2026-01-01T00:00:00.000Z', false], ['2026-01-01T12:00:00.000Z', true], ['2026-01-02T00:00:00.000Z', false],
  ]);
  assert.equal(reread.lastDue('p', 'drill'), Date.parse('2026-01-01T12:00:00.000Z'));
  assert.equal(reread.lastDue('p', 'backup'), Date.parse('2026-01-02T00:00:00.000Z'));
});
