/**
 * `ebak retention show|lock|unlock` and `ebak retention hold add|remove|list`
 * (issue 15; docs/retention.md "Retention lock and legal holds"): a thin
 * layer over a RetentionDesk, the repository's own retention object in
 * local mode (client-enforced) or the vault in vault mode (the enclave
 * decides; a change that weakens a lock asks for the password, a step-up).
 * A hold names a snapshot the repository holds (resolved like every
 * snapshot argument: a unique prefix or latest).
 */
import { environment, type ParsedFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import type { VaultHead } from '../../keys/index.js';
import { localDesk } from '../../operations/retention.js';
import type { Repository } from '../../repository/repository.js';
import type { RetentionDesk, RetentionView } from '../../retention/desk.js';
import { checkLockRequest, DEFAULT_CHANGEABLE_DAYS, isFrozen, stamp, type LockMode, type LockRequest } from '../../retention/lock.js';
import { defineCommand, type Context } from '../command.js';
import { stepUpPassword } from '../secrets.js';
import { withRepo } from '../session.js';

const USAGE = 'ebak retention show | ebak retention lock --min-days N [--max-days M] [--mode governance|compliance] [--changeable-for-days D] | ebak retention unlock | ' +
  'ebak retention hold add <snapshot> --reason TEXT | ebak retention hold remove <snapshot> | ebak retention hold list';

export const retentionCommand = defineCommand({
  name: 'retention',
  usage: USAGE,
  async run(flags, ctx) {
    const [sub, verb, ref, ...extra] = flags.positionals;
    const action = choose(sub, verb, ref, extra, flags);
    return withRepo(ctx, {}, async (repo, _pool, _backend, head) => {
      const view = await action(deskFor(ctx, repo, head), repo);
      print(ctx, view, sub === 'hold');
      return 0;
    });
  },
});

type Action = (desk: RetentionDesk, repo: Repository) => Promise<RetentionView>;

/** The subcommand as an action, every flag problem found before the repository is opened. */
function choose(sub: string | undefined, verb: string | undefined, ref: string | undefined, extra: string[], f: ParsedFlags<'retention'>): Action {
  const none = (n: number) => [verb, ref, ...extra].slice(n).every((x) => x === undefined);
  if (sub === 'show' && none(0)) return (d) => d.show();
  if (sub === 'lock' && none(0)) {
    const req = lockRequest(f);
    return (d) => d.lock(req);
  }
  if (sub === 'unlock' && none(0)) return (d) => d.unlock();
  if (sub === 'hold' && verb === 'list' && none(1)) return (d) => d.show();
  if (sub === 'hold' && verb === 'add' && ref && none(2)) {
    const reason = f.values.reason;
    if (reason === undefined) throw new EbakError('USAGE', 'retention hold add needs --reason TEXT', { hint: USAGE });
    return async (d, repo) => d.hold((await repo.findSnapshot(ref)).id, reason);
  }
  if (sub === 'hold' && verb === 'remove' && ref && none(2)) return async (d) => d.release(await fullId(d, ref));
  throw new EbakError('USAGE', 'retention needs show, lock, unlock, or hold add|remove|list', { hint: USAGE });
}

function lockRequest(f: ParsedFlags<'retention'>): LockRequest {
  const n = (name: 'min-days' | 'max-days' | 'changeable-for-days') => (f.values[name] === undefined ? undefined : Number(f.values[name]));
  const minDays = n('min-days');
  if (minDays === undefined) throw new EbakError('USAGE', 'retention lock needs --min-days N', { hint: USAGE });
  const req = { mode: (f.values.mode ?? 'governance') as LockMode, minDays, maxDays: n('max-days'), changeableForDays: n('changeable-for-days') ?? DEFAULT_CHANGEABLE_DAYS };
  checkLockRequest(req); // --max-days below --min-days, before the repository (or the vault) is asked
  return req;
}

/** A held snapshot by id or unique prefix, among the holds (its snapshot may be gone from storage). */
async function fullId(d: RetentionDesk, ref: string): Promise<string> {
  if (!/^[0-9a-f]{4,64}$/.test(ref)) throw new EbakError('USAGE', `${JSON.stringify(ref)} is not a snapshot id (at least 4 hex digits)`);
  const matches = (await d.show()).holds.filter((h) => h.snapshot.startsWith(ref));
  if (matches.length === 0) throw new EbakError('NOT_FOUND', `no legal hold on a snapshot ${ref}`);
  if (matches.length > 1) throw new EbakError('USAGE', `snapshot prefix ${ref} is ambiguous among the holds (${matches.length} matches)`);
  return matches[0]!.snapshot;
}

function deskFor(ctx: Context, repo: Repository, head: VaultHead | undefined): RetentionDesk {
  if (head) return head.retentionDesk(() => stepUpPassword(ctx));
  return localDesk(repo, environment(ctx.env).testNow ?? new Date(), { onEvent: (e) => ctx.out.warn(e.message) });
}

function print(ctx: Context, v: RetentionView, holdsOnly: boolean): void {
  const { lock, holds } = v;
  if (!holdsOnly) {
    if (!lock) ctx.out.line('no retention lock');
    else {
      const frozen = isFrozen(lock, environment(ctx.env).testNow ?? new Date()) ? ' (frozen: nobody can remove or shorten it)' : '';
      ctx.out.line(`retention lock: ${lock.mode}, min ${lock.min_days} days${lock.max_days === undefined ? '' : `, max ${lock.max_days} days`}, set ${lock.set_at}, changeable until ${lock.changeable_until}${frozen}`);
    }
    ctx.out.line(`enforced by: ${v.enforcedBy === 'vault' ? 'the vault (it refuses deletions the lock or a hold protects)' : 'this client (local mode: weaker, see docs/retention.md)'}`);
  }
  ctx.out.line(`${holds.length} legal hold${holds.length === 1 ? '' : 's'}`);
  for (const h of holds) ctx.out.line(`  ${h.snapshot.slice(0, 8)}  held since ${stamp(new Date(h.added_at))}  ${h.reason}`);
  ctx.out.result({ lock: lock ?? null, holds, enforced_by: v.enforcedBy });
}
