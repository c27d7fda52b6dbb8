/**
 * One run of a plan, the same code for `ebak plan run` and the daemon:
 * backup (its snapshots tagged `plan:<name>`), the plan's retention applied
 * to its own snapshots only, the data packs only snapshots older than
 * cold_after_days need moved to a colder class, then each copy brought up
 * to date and its own retention applied. Each step opens its repository as any command does,
 * with the plan's location and secrets; a failing copy is recorded and the
 * others still run. A restore drill (restore_test, `plan run --drill`) is
 * the plan's other job (in vault mode its result is also appended to the
 * vault's audit log). Each outcome is recorded in the plan state file.
 */
import { copySnapshots, backup, DEFAULT_COLD_CLASS, forget } from '../operations/index.js';
import { localRetention } from '../operations/retention.js';
import { EbakError } from '../errors.js';
import type { Repository } from '../repository/repository.js';
import { lockViolations } from '../plans/lockcheck.js';
import type { ForgetPolicy } from '../retention/policy.js';
import type { Credentials, Plan } from '../plans/plan.js';
import type { VaultHead } from '../keys/index.js';
import type { RetentionLock } from '../retention/lock.js';
import { drill, type DrillResult } from '../plans/drill.js';
import { PlanRunLock } from '../plans/runlock.js';
import type { Job } from '../plans/scheduler.js';
import type { PlanStateFile, RunRecord } from '../plans/state.js';
import { MAX_FIRST_BAD } from '../vault/protocol.js';
import type { Context } from './command.js';
import { coldTransition } from './commands/cold.js';
import { interruptible, withBackupRepo, withRepo } from './session.js';

/** The tag that marks a plan's snapshots: its retention touches nothing else. */
export const planTag = (plan: Plan) => `plan:${plan.name}`;

/** A command context opening the repository `c` names (the environment's own repository and password are not used for it). */
export function contextFor(ctx: Context, c: Credentials): Context {
  return {
    ...ctx,
    globals: { repo: c.repository, ...(c.passwordFile ? { passwordFile: c.passwordFile } : {}), ...(c.passwordCommand ? { passwordCommand: c.passwordCommand } : {}) },
  };
}

/**
 * One job of a plan, under the plan's run lock (src/plans/runlock.ts: a
 * second run of the plan, in this process or another, waits for it), timed
 * and recorded in the state file whatever its outcome.
 */
export async function runJob(ctx: Context, plan: Plan, state: PlanStateFile, signal: AbortSignal, scheduled: number, job: Job): Promise<RunRecord> {
  const lock = await PlanRunLock.acquire(state.runLockPath(plan.name), job, {
    signal, onWait: (h) => ctx.out.warn(`plan ${plan.name}: waiting for its ${h.job} run in process ${h.pid} on ${h.host} (since ${h.started}) to finish`),
  });
  try {
    return await timedJob(ctx, plan, state, signal, scheduled, job);
  } finally {
    lock.release();
  }
}

async function timedJob(ctx: Context, plan: Plan, state: PlanStateFile, signal: AbortSignal, scheduled: number, job: Job): Promise<RunRecord> {
  const started = Date.now();
  const record: RunRecord = { scheduled: new Date(scheduled).toISOString(), started: new Date(started).toISOString(), ms: 0, ok: false };
  try {
    await (job === 'drill' ? runDrill : runBackup)(ctx, plan, record, signal);
  } catch (e) {
    record.error = (e as Error).message;
    if (e instanceof EbakError) record.error_code = e.code;
  }
  record.ms = Date.now() - started;
  // A drill cut short (the daemon stopping) measured nothing: the last drill that ran stays the one reported.
  if (!(job === 'drill' && signal.aborted)) await state.record(plan.name, record);
  return record;
}

async function runBackup(ctx: Context, plan: Plan, record: RunRecord, signal: AbortSignal): Promise<void> {
  const warn = (m: string) => ctx.out.warn(`plan ${plan.name}: ${m}`);
  const own = contextFor(ctx, plan);
  // A write-only credential may run a plan's backup (its retention, drills and copies are then refused, WRITE_ONLY).
  const made = await withBackupRepo(own, { index: true, pool: true, action: 'backup', signal }, (repo, pool) => backup(repo, pool!, {
    paths: plan.sources, tags: [...plan.tags, planTag(plan)], excludes: plan.excludes, signal,
    onEvent: (e) => void (e.type === 'warning' && warn(e.message)),
  }));
  record.snapshot = made.id;
  record.bytes_added = made.summary.data_added;
  if (plan.retention) record.forgotten = await applyRetention(own, plan, { policy: plan.retention, field: '' }, signal);
  if (plan.coldAfterDays !== undefined) record.cold = await runColdStep(own, plan, plan.coldAfterDays, signal);
  record.copies = [];
  for (const copy of plan.copies) record.copies.push(await runCopy(ctx, plan, copy, signal));
  record.ok = record.copies.every((c) => c.error === undefined) && record.cold?.error === undefined;
  if (!record.ok) record.error = record.cold?.error === undefined ? 'a copy failed' : `cold storage failed: ${record.cold.error}`;
}

/** After backup and retention: the packs only snapshots older than cold_after_days need go cold (a failure is recorded, the copies still run). */
async function runColdStep(own: Context, plan: Plan, afterDays: number, signal: AbortSignal): Promise<NonNullable<RunRecord['cold']>> {
  const storageClass = plan.coldStorageClass ?? DEFAULT_COLD_CLASS;
  try {
    return { storage_class: storageClass, moved: (await coldTransition(own, { afterDays, storageClass, dryRun: false }, signal)).moved.length };
  } catch (e) {
    return { storage_class: storageClass, moved: 0, error: (e as Error).message };
  }
}

/**
 * The restore drill: the plan's latest snapshot (or restore_test.sample of
 * its files, drawn with the slot's time as the seed, so a drill can be
 * repeated) restored and verified in a scratch directory (src/plans/drill.ts).
 */
async function runDrill(ctx: Context, plan: Plan, record: RunRecord, signal: AbortSignal): Promise<void> {
  record.drill = { snapshot: '', files: 0, bytes: 0, ms: 0, verified: false };
  const sample = plan.restoreTest?.sample;
  const { firstBad, auditError, ...measured } = await withRepo(contextFor(ctx, plan), { index: true, pool: true, action: 'restore', signal }, async (repo, pool, _backend, head): Promise<DrillResult & { audit_seq?: number; auditError?: string }> => {
    const r = await drill(repo, repo.blobReader(pool!), { tag: planTag(plan), seed: `${plan.name}@${record.scheduled}`, signal, ...(sample === undefined ? {} : { sample }) });
    return head ? { ...r, ...(await auditDrill(head, plan, r)) } : r;
  });
  record.drill = measured;
  record.snapshot = measured.snapshot;
  record.ok = measured.verified && auditError === undefined;
  if (!measured.verified) record.error = firstBad ?? 'a file did not restore whole';
  else if (auditError !== undefined) record.error = `the vault did not record the drill: ${auditError}`;
}

/** Vault mode: the drill's result appended to the vault's audit log; a result that cannot be posted fails the drill's record, never silently. */
async function auditDrill(head: VaultHead, plan: Plan, r: DrillResult): Promise<{ audit_seq: number } | { auditError: string }> {
  const firstBad = r.firstBad === undefined ? {} : { first_bad: r.firstBad.replace(/[\x00-\x1f\x7f]/g, '?').slice(0, MAX_FIRST_BAD) };
  try {
    return { audit_seq: (await head.recordDrill({ plan: plan.name, snapshot: r.snapshot, files: r.files, bytes: r.bytes, ms: r.ms, verified: r.verified, ...firstBad })).seq };
  } catch (e) {
    return { auditError: (e as Error).message };
  }
}

/**
 * `fn` with a signal that Ctrl-C (as every command) and SIGTERM (a service
 * manager stopping the daemon or a drill) abort: the job stops cleanly, its
 * scratch copy removed, its state recorded.
 */
export function untilStopped<T>(ctx: Context, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return interruptible(ctx, async (interrupted) => {
    const term = new AbortController();
    const onTerm = () => term.abort();
    process.once('SIGTERM', onTerm);
    try {
      return await fn(AbortSignal.any([interrupted, term.signal]));
    } finally {
      process.off('SIGTERM', onTerm);
    }
  });
}

/** A retention of the plan (`field`: "" for its own, "copies[i]." for a copy's) in the plan file. */
interface PlanRetention {
  policy: ForgetPolicy;
  field: string;
}

/** The plan's retention applied to its snapshots, after it is checked against the repository's retention lock in the same session (nothing is forgotten when it breaks the lock). */
async function applyRetention(c: Context, plan: Plan, r: PlanRetention, signal: AbortSignal): Promise<number> {
  const { removed } = await withRepo(c, {}, async (repo, _pool, _backend, head) => {
    refuseIfLocked(plan, r, await repositoryLock(repo, head));
    return forget(repo, { policy: r.policy, filter: { tags: [[planTag(plan)]] }, signal, head });
  });
  return removed.length;
}

/** The repository's retention lock: the vault's (vault mode) or its own object's (local mode). */
export async function repositoryLock(repo: Repository, head: VaultHead | undefined): Promise<RetentionLock | undefined> {
  return (await (head ?? localRetention(repo, new Date())).retentionFacts()).lock;
}

/** RETENTION naming the plan and each field of its retention the lock forbids (src/plans/lockcheck.ts). */
export function refuseIfLocked(plan: Plan, r: PlanRetention, lock: RetentionLock | undefined): void {
  const problems = lock ? lockViolations(r.policy, lock).map((v) => `plan ${plan.name}: ${r.field}${v.field}: ${v.message}`) : [];
  if (problems.length === 0) return;
  throw new EbakError('RETENTION', problems.join('; '), { hint: 'change the plan\'s retention to fit the lock (ebak retention show); nothing was forgotten' });
}

async function runCopy(ctx: Context, plan: Plan, copy: Plan['copies'][number], signal: AbortSignal): Promise<NonNullable<RunRecord['copies']>[number]> {
  try {
    const target = contextFor(ctx, copy);
    const copied = await withRepo(contextFor(ctx, plan), { index: true, pool: true, action: 'restore' }, (source, pool) => withRepo(target, { index: true, action: 'backup' }, async (dest) => {
      const { snapshots } = await source.readSnapshots();
      const mine = snapshots.filter((s) => s.snapshot.tags.includes(planTag(plan)));
      return (await copySnapshots(source, source.blobReader(pool!), dest, pool!, mine, { signal })).copied.length;
    }));
    if (copy.retention) await applyRetention(target, plan, { policy: copy.retention, field: `copies[${plan.copies.indexOf(copy)}].` }, signal);
    return { repository: copy.repository, copied };
  } catch (e) {
    return { repository: copy.repository, copied: 0, error: (e as Error).message };
  }
}
