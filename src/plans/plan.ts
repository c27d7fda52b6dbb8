/**
 * The plan file's model and its validation (docs/plans.md): every problem
 * found at once, each naming its field path and line ("line 12:
 * plans[0].schedule: ..."), before anything runs. The YAML reading is
 * separate (planfile.ts): this module sees a parsed value and a function
 * giving the line of a field path.
 */
import { EbakError } from '../errors.js';
import { checkColdClass } from '../operations/index.js';
import { parseDuration } from '../retention/duration.js';
import type { CountRule, ForgetPolicy, WithinRule } from '../retention/policy.js';
import { isEmptyPolicy } from '../retention/policy.js';
import { parseSchedule, type Schedule } from './cron.js';
import { parseElapsed } from './elapsed.js';

export type FieldPath = readonly (string | number)[];
export type Locate = (path: FieldPath) => number | undefined;

export interface Credentials {
  repository: string;
  passwordFile?: string;
  passwordCommand?: string;
}

export interface Copy extends Credentials {
  retention?: ForgetPolicy;
}

export interface Plan extends Credentials {
  name: string;
  sources: string[];
  excludes: string[];
  tags: string[];
  schedule: Schedule;
  timezone: string;
  window: { startWithin?: number; completeWithin?: number };
  retention?: ForgetPolicy;
  coldAfterDays?: number;
  /** The class cold_after_days moves packs to (default GLACIER_IR, src/operations/cold.ts). */
  coldStorageClass?: string;
  copies: Copy[];
  restoreTest?: { schedule: Schedule; sample?: number };
}

export interface PlanFile {
  plans: Plan[];
  daemon: { listen?: string };
}

const COUNTS: Record<string, CountRule> = { 'keep-last': 'last', 'keep-hourly': 'hourly', 'keep-daily': 'daily', 'keep-weekly': 'weekly', 'keep-monthly': 'monthly', 'keep-yearly': 'yearly' };
const WITHIN: Record<string, WithinRule | 'within'> = {
  'keep-within': 'within', 'keep-within-hourly': 'withinHourly', 'keep-within-daily': 'withinDaily', 'keep-within-weekly': 'withinWeekly',
  'keep-within-monthly': 'withinMonthly', 'keep-within-yearly': 'withinYearly',
};

/** Collects problems with their location; `field` runs a check and keeps its error as a problem. */
class Checker {
  readonly problems: string[] = [];
  constructor(private readonly locate: Locate) {}

  problem(path: FieldPath, message: string): void {
    const line = this.locate(path);
    this.problems.push(`${line === undefined ? '' : `line ${line}: `}${render(path)}: ${message}`);
  }

  /** The value of `check`, or undefined after recording its EbakError's message. */
  field<T>(path: FieldPath, check: () => T): T | undefined {
    try {
      return check();
    } catch (e) {
      if (!(e instanceof EbakError)) throw e;
      this.problem(path, e.message.startsWith(render(path)) ? e.message.slice(render(path).length + 2) : e.message);
      return undefined;
    }
  }

  mapping(path: FieldPath, v: unknown, allowed: readonly string[]): Record<string, unknown> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.problem(path, 'must be a mapping');
      return undefined;
    }
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.problem([...path, k], `unknown field (known: ${allowed.join(', ')})`);
    return v as Record<string, unknown>;
  }

  string(path: FieldPath, v: unknown, required = false): string | undefined {
    if (v === undefined) {
      if (required) this.problem(path, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' || v === '') {
      this.problem(path, 'must be a non-empty string');
      return undefined;
    }
    return v;
  }

  strings(path: FieldPath, v: unknown, required = false): string[] {
    if (v === undefined) {
      if (required) this.problem(path, 'is required (a list)');
      return [];
    }
    if (!Array.isArray(v) || (required && v.length === 0)) {
      this.problem(path, required ? 'must be a non-empty list of strings' : 'must be a list of strings');
      return [];
    }
    return v.flatMap((x, i) => this.string([...path, i], x, true) ?? []);
  }

  integer(path: FieldPath, v: unknown, min: number): number | undefined {
    if (v === undefined) return undefined;
    if (!Number.isSafeInteger(v) || (v as number) < min) {
      this.problem(path, `must be a whole number of at least ${min}`);
      return undefined;
    }
    return v as number;
  }
}

function render(path: FieldPath): string {
  if (path.length === 0) return 'the file';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

const PLAN_FIELDS = ['name', 'repository', 'password_file', 'password_command', 'sources', 'excludes', 'tags', 'schedule', 'timezone', 'window', 'retention', 'cold_after_days', 'cold_storage_class', 'copies', 'restore_test'];

/** Validates a parsed plan file; throws one USAGE error listing every problem. */
export function validatePlanFile(doc: unknown, locate: Locate, file: string): PlanFile {
  const c = new Checker(locate);
  const top = c.mapping([], doc, ['plans', 'daemon']);
  const plansValue = top?.plans;
  if (top && (!Array.isArray(plansValue) || plansValue.length === 0)) c.problem(['plans'], 'must be a non-empty list of plans');
  const list: unknown[] = Array.isArray(plansValue) ? plansValue : [];
  const plans = list.flatMap((p, i) => plan(c, ['plans', i], p) ?? []);
  const names = new Set<unknown>();
  list.forEach((p, i) => {
    const name = (p as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && names.has(name)) c.problem(['plans', i, 'name'], `the name ${JSON.stringify(name)} is used twice`);
    names.add(name);
  });
  const daemonValue = top?.daemon === undefined ? {} : c.mapping(['daemon'], top.daemon, ['listen']);
  const listen = c.string(['daemon', 'listen'], daemonValue?.listen);
  if (listen !== undefined && !/^[\w.-]*:\d{1,5}$/.test(listen)) c.problem(['daemon', 'listen'], 'must be host:port');
  if (c.problems.length > 0) throw planError(file, c.problems);
  return { plans, daemon: listen === undefined ? {} : { listen } };
}

function planError(file: string, problems: string[]): EbakError {
  if (problems.length === 1) return new EbakError('USAGE', `${file}: ${problems[0]}`);
  return new EbakError('USAGE', `${file}: ${problems.length} problems`, { hint: problems.join('; ') });
}

function plan(c: Checker, at: FieldPath, v: unknown): Plan | undefined {
  const m = c.mapping(at, v, PLAN_FIELDS);
  if (!m) return undefined;
  const name = c.string([...at, 'name'], m.name, true);
  if (name !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) c.problem([...at, 'name'], 'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  const creds = credentials(c, at, m);
  const timezone = c.string([...at, 'timezone'], m.timezone) ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const scheduleText = c.string([...at, 'schedule'], m.schedule, true);
  const schedule = scheduleText === undefined ? undefined : c.field([...at, 'schedule'], () => parseSchedule(scheduleText, render([...at, 'schedule']), timezone));
  const window = planWindow(c, [...at, 'window'], m.window);
  const retention = m.retention === undefined ? undefined : policy(c, [...at, 'retention'], m.retention);
  const coldAfterDays = c.integer([...at, 'cold_after_days'], m.cold_after_days, 1);
  const coldText = c.string([...at, 'cold_storage_class'], m.cold_storage_class);
  const coldStorageClass = coldText === undefined ? undefined : c.field([...at, 'cold_storage_class'], () => checkColdClass(coldText, render([...at, 'cold_storage_class'])));
  const copies = m.copies === undefined ? [] : Array.isArray(m.copies) ? m.copies.flatMap((x, i) => copy(c, [...at, 'copies', i], x) ?? []) : (c.problem([...at, 'copies'], 'must be a list'), []);
  const restoreTest = m.restore_test === undefined ? undefined : drill(c, [...at, 'restore_test'], m.restore_test, timezone);
  const sources = c.strings([...at, 'sources'], m.sources, true);
  const excludes = c.strings([...at, 'excludes'], m.excludes);
  const tags = c.strings([...at, 'tags'], m.tags);
  if (name === undefined || !creds || !schedule) return undefined;
  return {
    name, ...creds, schedule, timezone, window, copies, sources, excludes, tags,
    ...(retention ? { retention } : {}),
    ...(coldAfterDays !== undefined ? { coldAfterDays } : {}),
    ...(coldStorageClass !== undefined ? { coldStorageClass } : {}),
    ...(restoreTest ? { restoreTest } : {}),
  };
}

function credentials(c: Checker, at: FieldPath, m: Record<string, unknown>): Credentials | undefined {
  const repository = c.string([...at, 'repository'], m.repository, true);
  const passwordFile = c.string([...at, 'password_file'], m.password_file);
  const passwordCommand = c.string([...at, 'password_command'], m.password_command);
  if (passwordFile !== undefined && passwordCommand !== undefined) c.problem([...at, 'password_command'], 'password_file and password_command are mutually exclusive');
  if (repository === undefined) return undefined;
  return { repository, ...(passwordFile ? { passwordFile } : {}), ...(passwordCommand ? { passwordCommand } : {}) };
}

function copy(c: Checker, at: FieldPath, v: unknown): Copy | undefined {
  const m = c.mapping(at, v, ['repository', 'password_file', 'password_command', 'retention']);
  if (!m) return undefined;
  const creds = credentials(c, at, m);
  const retention = m.retention === undefined ? undefined : policy(c, [...at, 'retention'], m.retention);
  return creds && { ...creds, ...(retention ? { retention } : {}) };
}

/** A run that cannot start within `start_within` of its time is skipped; one longer than `complete_within` is cancelled. */
function planWindow(c: Checker, at: FieldPath, v: unknown): Plan['window'] {
  if (v === undefined) return {};
  const m = c.mapping(at, v, ['start_within', 'complete_within']);
  if (!m) return {};
  const elapsed = (k: string) => {
    const text = c.string([...at, k], m[k]);
    return text === undefined ? undefined : c.field([...at, k], () => parseElapsed(text, render([...at, k])));
  };
  const startWithin = elapsed('start_within');
  const completeWithin = elapsed('complete_within');
  if (completeWithin !== undefined && completeWithin < 60_000) c.problem([...at, 'complete_within'], 'is shorter than any backup can take (at least 1m)');
  if (startWithin !== undefined && completeWithin !== undefined && startWithin > completeWithin) c.problem([...at, 'start_within'], 'is longer than complete_within: a run started late could not finish in its window');
  return { ...(startWithin !== undefined ? { startWithin } : {}), ...(completeWithin !== undefined ? { completeWithin } : {}) };
}

/** The forget policy's rules under their flag names (keep-daily: 7, ...), or `days: N` (keep everything N days). */
function policy(c: Checker, at: FieldPath, v: unknown): ForgetPolicy | undefined {
  const m = c.mapping(at, v, [...Object.keys(COUNTS), ...Object.keys(WITHIN), 'keep-tag', 'days']);
  if (!m) return undefined;
  const before = c.problems.length;
  const p: ForgetPolicy = {};
  for (const [k, rule] of Object.entries(COUNTS)) {
    if (m[k] === undefined) continue;
    const n = m[k] === 'unlimited' ? -1 : c.integer([...at, k], m[k], -1);
    if (n !== undefined) p[rule] = n;
  }
  for (const [k, rule] of Object.entries(WITHIN)) {
    const text = m[k] === undefined ? undefined : c.string([...at, k], m[k]);
    const d = text === undefined ? undefined : c.field([...at, k], () => parseDuration(text, render([...at, k])));
    if (d) p[rule] = d;
  }
  if (m['keep-tag'] !== undefined) p.tags = c.strings([...at, 'keep-tag'], m['keep-tag']).map((t) => t.split(','));
  const days = c.integer([...at, 'days'], m.days, 1);
  if (days !== undefined) {
    if (p.within) c.problem([...at, 'days'], 'days and keep-within say the same thing: give one');
    p.within = { years: 0, months: 0, days, hours: 0 };
  }
  // Only when its rules were valid: a rule refused above is already the problem to fix.
  if (c.problems.length === before && isEmptyPolicy(p)) c.problem(at, 'keeps nothing: give at least one keep-* rule or days (an empty policy would remove every snapshot)');
  return p;
}

function drill(c: Checker, at: FieldPath, v: unknown, timezone: string): Plan['restoreTest'] {
  const m = c.mapping(at, v, ['schedule', 'sample']);
  if (!m) return undefined;
  const text = c.string([...at, 'schedule'], m.schedule, true);
  const schedule = text === undefined ? undefined : c.field([...at, 'schedule'], () => parseSchedule(text, render([...at, 'schedule']), timezone));
  const sample = c.integer([...at, 'sample'], m.sample, 1);
  return schedule && { schedule, ...(sample !== undefined ? { sample } : {}) };
}
