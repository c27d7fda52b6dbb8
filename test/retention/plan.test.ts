/**
 * Filters and grouping around the policy, as restic's forget applies them
 * (restic doc/060_forget.rst): groups by host and paths unless --group-by
 * says otherwise, the policy applied to each group on its own; --host any
 * of, --tag "a,b" all of one list (any list), --path all of; an empty
 * policy and a policy that keeps nothing of a group are refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { Calendar } from '../../src/retention/calendar.js';
import { groupSnapshots, matchesFilter, parseGroupBy, parseTagList, planForget } from '../../src/retention/plan.js';

const S = [
  { id: 'a1', time: '2024-01-01T10:00:00Z', hostname: 'a', paths: ['/x', '/y'], tags: ['t', 'u'] },
  { id: 'a2', time: '2024-01-02T10:00:00Z', hostname: 'a', paths: ['/y', '/x'], tags: [] },
  { id: 'a3', time: '2024-01-03T10:00:00Z', hostname: 'a', paths: ['/x'], tags: ['u'] },
  { id: 'b1', time: '2024-01-01T11:00:00Z', hostname: 'b', paths: ['/x'], tags: ['t'] },
  { id: 'b2', time: '2024-01-04T11:00:00Z', hostname: 'b', paths: ['/x'], tags: ['u', 't'] },
];
const calendar = new Calendar('UTC');
const ids = (l: { id: string }[]) => l.map((s) => s.id);

describe('grouping', () => {
  it('by host and paths by default (paths compared as a set), groups in the order of their keys as JSON', () => {
    const groups = planForget(S, { last: 1 }, { calendar });
    assert.deepEqual(groups.map((g) => [g.key, ids(g.decisions.map((d) => d.snapshot)), ids(g.decisions.filter((d) => d.keep).map((d) => d.snapshot))]), [
      [{ hostname: 'a', paths: ['/x', '/y'], tags: null }, ['a2', 'a1'], ['a2']],
      [{ hostname: 'a', paths: ['/x'], tags: null }, ['a3'], ['a3']],
      [{ hostname: 'b', paths: ['/x'], tags: null }, ['b2', 'b1'], ['b2']],
    ]);
  });

  it("--group-by '' puts everything in one group; tags group by the sorted tag set", () => {
    assert.deepEqual(groupSnapshots(S, parseGroupBy('')).map((g) => [g.key, ids(g.snapshots)]), [[{ hostname: '', paths: null, tags: null }, ['a1', 'a2', 'a3', 'b1', 'b2']]]);
    assert.deepEqual(groupSnapshots(S, parseGroupBy('tags')).map((g) => [g.key.tags, ids(g.snapshots)]), [[['t', 'u'], ['a1', 'b2']], [['t'], ['b1']], [['u'], ['a3']], [[], ['a2']]]);
    assert.deepEqual(parseGroupBy('host,path,tag'), { host: true, paths: true, tags: true });
    assert.deepEqual(parseGroupBy('hosts,tags'), { host: true, paths: false, tags: true });
  });

  it('refuses an unknown grouping', () => {
    assert.throws(() => parseGroupBy('host,colour'), (e) => isEbakError(e, 'USAGE'));
  });
});

describe('filters', () => {
  const pick = (f: Parameters<typeof matchesFilter>[1]) => ids(S.filter((s) => matchesFilter(s, f)));
  it('--host: any of them', () => assert.deepEqual(pick({ hosts: ['b', 'c'] }), ['b1', 'b2']));
  it('--tag: every tag of one list, any list; "" for untagged', () => {
    assert.deepEqual(pick({ tags: [parseTagList('t, u')] }), ['a1', 'b2']);
    assert.deepEqual(pick({ tags: [['u'], ['']] }), ['a1', 'a2', 'a3', 'b2']);
  });
  it('--path: every one of them', () => {
    assert.deepEqual(pick({ paths: ['/x', '/y'] }), ['a1', 'a2']);
    assert.deepEqual(pick({ paths: ['/x'] }), ['a1', 'a2', 'a3', 'b1', 'b2']);
  });
  it('the policy sees only the selected snapshots', () => {
    const groups = planForget(S, { last: 1 }, { calendar, filter: { hosts: ['b'] } });
    assert.deepEqual(groups.map((g) => ids(g.decisions.map((d) => d.snapshot))), [['b2', 'b1']]);
  });
});

describe('refusals', () => {
  it('an empty policy (restic: "no policy was specified")', () => {
    for (const p of [{}, { last: 0, daily: 0 }]) assert.throws(() => planForget(S, p, { calendar }), (e) => isEbakError(e, 'USAGE'));
  });
  it('a policy that keeps nothing of a group (restic: "refusing to delete last snapshot of snapshot group")', () => {
    assert.throws(() => planForget(S, { tags: [['t']] }, { calendar }), (e) => isEbakError(e, 'USAGE'));
    assert.equal(planForget(S, { tags: [['t']] }, { calendar, filter: { hosts: ['b'] } }).length, 1);
  });
});
