/**
 * Plan validation (src/plans/plan.ts) on parsed values: a full plan reads
 * into its model; every problem of a bad file is reported at once, each
 * naming its field path and its line.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { validatePlanFile, type FieldPath } from '../../src/plans/plan.js';

/** Lines as a YAML reader would give them: here, one per field path, in a fixed table. */
const lines = (table: Record<string, number>) => (path: FieldPath) => table[path.join('.')];

const good = {
  daemon: { listen: '127.0.0.1:9464' },
  plans: [{
    name: 'home', repository: '/srv/repo', password_file: '/etc/ebak/pw', sources: ['/home'], excludes: ['*.tmp'], tags: ['plan:home'],
    schedule: '30 2 * * *', timezone: 'Europe/Paris', window: { start_within: '1h', complete_within: '4h' },
    retention: { 'keep-daily': 7, 'keep-weekly': 4, 'keep-within': '2d' }, cold_after_days: 30,
    copies: [{ repository: 's3:https://backup.example/bucket/home', password_command: 'pass show ebak', retention: { days: 90 } }],
    restore_test: { schedule: '@weekly', sample: 50 },
  }, { name: 'quick', repository: '/srv/repo', sources: ['/etc'], schedule: '@every 10s' }],
};

describe('plan files', () => {
  it('a full plan reads into its model', () => {
    const f = validatePlanFile(good, () => undefined, 'plans.yaml');
    assert.equal(f.daemon.listen, '127.0.0.1:9464');
    const [home, quick] = f.plans;
    assert.equal(home!.name, 'home');
    assert.equal(home!.window.completeWithin, 4 * 3600_000);
    assert.deepEqual(home!.retention?.daily, 7);
    assert.deepEqual(home!.copies[0]!.retention?.within, { years: 0, months: 0, days: 90, hours: 0 });
    assert.equal(home!.restoreTest?.sample, 50);
    assert.equal(home!.schedule.next(Date.parse('2024-06-01T00:00:00Z')), Date.parse('2024-06-01T00:30:00Z'), '02:30 in Paris (UTC+2)');
    assert.equal(quick!.schedule.next(1000), 11_000);
    assert.deepEqual(quick!.copies, []);
  });

  it('reports every problem at once, each with its field path and line', () => {
    const bad = {
      plans: [{
        name: 'home', repository: '/srv/repo', sources: [], schedule: '61 * * * *', colour: 'blue',
        window: { start_within: '5h', complete_within: '1h' }, retention: { 'keep-daily': 'x' },
      }, { name: 'home', repository: '/srv/repo', sources: ['/x'], schedule: '@daily', retention: {}, password_file: 'a', password_command: 'b' }],
    };
    const loc = lines({ 'plans.0.sources': 4, 'plans.0.schedule': 5, 'plans.0.colour': 6, 'plans.0.window.start_within': 8, 'plans.0.retention.keep-daily': 11, 'plans.1.name': 13, 'plans.1.retention': 17 });
    assert.throws(() => validatePlanFile(bad, loc, 'plans.yaml'), (e) => {
      assert.ok(isEbakError(e, 'USAGE'));
      const all = `${e.message}; ${e.hint}`;
      for (const want of [
        'line 4: plans[0].sources: must be a non-empty list',
        'line 5: plans[0].schedule: minute field "61"',
        'line 6: plans[0].colour: unknown field',
        'line 8: plans[0].window.start_within: is longer than complete_within',
        'line 11: plans[0].retention.keep-daily: must be a whole number',
        'line 13: plans[1].name: the name "home" is used twice',
        'line 17: plans[1].retention: keeps nothing',
        'plans[1].password_command: password_file and password_command are mutually exclusive',
      ]) assert.ok(all.includes(want), `${want}\n in ${all}`);
      assert.match(e.message, /^plans\.yaml: 8 problems$/);
      return true;
    });
  });

  it('refuses a file that is not a mapping of plans, and a window shorter than any run', () => {
    assert.throws(() => validatePlanFile([1, 2], () => undefined, 'f'), /f: the file: must be a mapping/);
    assert.throws(() => validatePlanFile({ plans: [] }, () => undefined, 'f'), /plans: must be a non-empty list/);
    assert.throws(() => validatePlanFile({ plans: [{ ...good.plans[1], window: { complete_within: '10s' } }] }, () => undefined, 'f'), /complete_within: is shorter than any backup/);
  });
});

describe('plan files in YAML', () => {
  it('reads a plan file and names the line of each problem, YAML errors included', async () => {
    const { parsePlanFile } = await import('../../src/plans/planfile.js');
    const f = parsePlanFile(['plans:', '  - name: home', '    repository: /srv/repo', '    sources: [/home]', '    schedule: "@daily"', '    retention:', '      keep-daily: 7', ''].join('\n'), 'p.yaml');
    assert.equal(f.plans[0]!.retention?.daily, 7);
    assert.throws(() => parsePlanFile(['plans:', '  - name: home', '    repository: /srv/repo', '    sources: [/home]', '    schedule: "0 0 * * *"', '    colour: blue', ''].join('\n'), 'p.yaml'), /^EbakError: p\.yaml: line 6: plans\[0\]\.colour: unknown field/);
    assert.throws(() => parsePlanFile(['plans:', '  - name: home', '    schedule: @daily', ''].join('\n'), 'p.yaml'), (e) => isEbakError(e, 'USAGE') && /line 3/.test(e.message) && /quoted/.test(e.hint ?? ''));
    assert.throws(() => parsePlanFile(['plans:', '  - name: a', '    name: b', ''].join('\n'), 'p.yaml'), /line 3/, 'duplicate keys');
  });
});
