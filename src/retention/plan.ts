/**
 * A forget run's plan: the snapshots a filter selects (`--host`, `--tag`,
 * `--path`), grouped (`--group-by`, default host and paths), each group
 * decided by the policy (policy.ts) on its own, as restic's forget does.
 * Refuses what restic refuses: an empty policy (it would remove
 * everything) and a policy that keeps nothing of a group.
 */
import { EbakError } from '../errors.js';
import { applyPolicy, hasTags, isEmptyPolicy, type Decision, type ForgetPolicy, type PolicyOptions, type PolicySnapshot } from './policy.js';

export interface Describable extends PolicySnapshot {
  readonly hostname: string;
  readonly paths: readonly string[];
}

/** Empty lists select everything. `tags`: any one list whose tags are all present (restic's `--tag a,b --tag c`). */
export interface SnapshotFilter {
  hosts?: readonly string[];
  tags?: readonly (readonly string[])[];
  /** Every one of these must be among the snapshot's paths. */
  paths?: readonly string[];
}

export interface GroupBy {
  host: boolean;
  paths: boolean;
  tags: boolean;
}

export const DEFAULT_GROUP_BY: GroupBy = { host: true, paths: true, tags: false };

/** What the snapshots of a group share; null (or "" for the host) for what the grouping ignores, as in restic's JSON. */
export interface GroupKey {
  hostname: string;
  paths: string[] | null;
  tags: string[] | null;
}

export interface ForgetGroup<T> {
  key: GroupKey;
  /** Newest first. */
  decisions: Decision<T>[];
}

/** Parses restic's `--group-by` value: host, paths, tags (or host, path, tag), comma-separated; "" groups nothing. */
export function parseGroupBy(text: string): GroupBy {
  const by: GroupBy = { host: false, paths: false, tags: false };
  const names: Record<string, keyof GroupBy> = { host: 'host', hosts: 'host', path: 'paths', paths: 'paths', tag: 'tags', tags: 'tags' };
  for (const part of text.split(',')) {
    if (part === '') continue;
    const k = names[part];
    if (!k) throw new EbakError('USAGE', `--group-by: unknown grouping ${JSON.stringify(part)}`, { hint: 'use host, paths and/or tags, comma-separated' });
    by[k] = true;
  }
  return by;
}

/** restic's tag list syntax: "a,b" is one list of two tags, spaces around each trimmed. */
export function parseTagList(text: string): string[] {
  return text.split(',').map((t) => t.trim());
}

export function matchesFilter(s: Describable, f: SnapshotFilter): boolean {
  const { hosts = [], tags = [], paths = [] } = f;
  return (hosts.length === 0 || hosts.includes(s.hostname)) &&
    (tags.length === 0 || tags.some((l) => hasTags(s.tags, l))) &&
    paths.every((p) => s.paths.includes(p));
}

export function isEmptyFilter(f: SnapshotFilter): boolean {
  return !f.hosts?.length && !f.tags?.length && !f.paths?.length;
}

/** Refuses a policy with no rule: it would remove every snapshot (restic refuses it too). */
export function requirePolicy(policy: ForgetPolicy): void {
  if (isEmptyPolicy(policy))
    throw new EbakError('USAGE', 'no policy was specified, no snapshots will be removed', { hint: 'give --keep-* rules, or the ids of the snapshots to forget' });
}

/**
 * Filters, groups and decides. Groups come in the order of their keys (as
 * JSON), snapshots within a group newest first.
 */
export function planForget<T extends Describable>(snapshots: readonly T[], policy: ForgetPolicy, select: { filter?: SnapshotFilter; groupBy?: GroupBy } & PolicyOptions = {}): ForgetGroup<T>[] {
  requirePolicy(policy);
  const groups = groupSnapshots(snapshots.filter((s) => matchesFilter(s, select.filter ?? {})), select.groupBy ?? DEFAULT_GROUP_BY);
  return groups.map(({ key, snapshots: members }) => {
    const decisions = applyPolicy(members, policy, select);
    if (!decisions.some((d) => d.keep))
      throw new EbakError('USAGE', `refusing to delete the last snapshot of the group ${describeKey(key)}: the policy keeps none of them`, { hint: 'nothing was deleted' });
    return { key, decisions };
  });
}

export function groupSnapshots<T extends Describable>(snapshots: readonly T[], by: GroupBy): { key: GroupKey; snapshots: T[] }[] {
  const groups = new Map<string, { key: GroupKey; snapshots: T[] }>();
  for (const s of snapshots) {
    const key: GroupKey = { hostname: by.host ? s.hostname : '', paths: by.paths ? [...s.paths].sort() : null, tags: by.tags ? [...s.tags].sort() : null };
    const k = JSON.stringify(key);
    const g = groups.get(k) ?? { key, snapshots: [] };
    g.snapshots.push(s);
    groups.set(k, g);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}

export function describeKey(k: GroupKey): string {
  const parts = [k.hostname && `host ${k.hostname}`, k.paths?.length && `paths [${k.paths.join(' ')}]`, k.tags?.length && `tags [${k.tags.join(' ')}]`];
  return parts.filter(Boolean).join(', ') || '(all snapshots)';
}
