/**
 * The vault's repository head composed with the repository's storage
 * (docs/vault.md "Repository head"; the vault client handles names only and
 * never sees storage or a Repository).
 *
 * - `checkHead`: what every command opened through a device session does
 *   first: the head, storage's listing of snapshots/ and index/, and (when a
 *   name seems missing) the head again; a name missing or replayed is
 *   EbakError('ROLLBACK'); names the head does not know are one warning and
 *   are adopted at the command's end; names only a write-only device posted
 *   and missing are one warning naming it, present ones are confirmed.
 * - `VaultHead`: the HeadRecorder the deleting writers post through (two
 *   steps per removal), plus the journal of what the repository stored
 *   (`stored`), posted by `flush` once the command is done; and the vault's
 *   retention lock and holds (forget's facts, `ebak retention`'s desk): in
 *   vault mode the vault refuses a protected snapshot's removal itself; and
 *   the vault's deleter, when it holds the repository's delete credential.
 */
import { EbakError } from '../errors.js';
import type { HeadNames, HeadRecorder } from '../repository/api.js';
import type { Backend, FileType } from '../storage/backend.js';
import type { VaultDeleter } from '../vault/client/deleter.js';
import { compareHead, rollbackMessage, unconfirmedMessage, type HeadClient, type HeadComparison } from '../vault/client/head.js';
import type { DrillRecordRequest, HeadState, RetentionRequest, RetentionResponse } from '../vault/protocol.js';
import type { RetentionDesk, RetentionView } from '../retention/desk.js';
import type { RetentionFacts } from '../retention/lock.js';

export class VaultHead implements HeadRecorder {
  private readonly journal = { snapshot: new Set<string>(), index: new Set<string>() };

  private readonly pendingNames: { snapshots: string[]; indexes: string[] };

  constructor(private readonly client: HeadClient, state: HeadState) {
    this.pendingNames = { snapshots: [...state.pending_snapshots], indexes: [...state.pending_indexes] };
  }

  /** A restore drill's result, appended to the vault's audit log. */
  recordDrill(record: DrillRecordRequest): Promise<{ seq: number }> {
    return this.client.recordDrill(record);
  }

  /** The repository saved object `name` of `kind` (posted by the next flush). */
  stored(kind: 'snapshot' | 'index', name: string): void {
    this.journal[kind].add(name);
  }

  /**
   * The packs a snapshot references (the session sets it where the repository
   * can walk its trees, or a write-only one names what its packer wrote):
   * flush sends them to a vault that deletes in the head post that adds the
   * snapshot. Undefined for a snapshot it cannot tell.
   */
  packsOf: ((snapshot: string) => Promise<string[] | undefined>) | undefined;

  /** Posts every name stored since the last flush; all of them are durable in storage. */
  async flush(): Promise<void> {
    const add_snapshots = [...this.journal.snapshot];
    const add_indexes = [...this.journal.index];
    if (add_snapshots.length + add_indexes.length === 0) return;
    const packs = await this.packsToRecord(add_snapshots);
    await this.client.post({ add_snapshots, add_indexes, ...(packs ? { packs } : {}) });
    for (const n of add_snapshots) this.journal.snapshot.delete(n);
    for (const n of add_indexes) this.journal.index.delete(n);
  }

  /**
   * Each new snapshot's packs, when the vault deletes for this repository: the head post carries them, so the
   * vault records them in the commit that makes the snapshot live (no other device's record can come between).
   */
  private async packsToRecord(snapshots: readonly string[]): Promise<Record<string, string[]> | undefined> {
    const packsOf = this.packsOf;
    if (!packsOf || snapshots.length === 0 || !(await this.client.deleter())) return undefined;
    const out: Record<string, string[]> = {};
    for (const id of snapshots) {
      const packs = await packsOf(id);
      if (packs) out[id] = packs;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  }

  removing(n: HeadNames): Promise<void> {
    return this.post(n, true);
  }

  removed(n: HeadNames): Promise<void> {
    return this.post(n, false);
  }

  /** The vault's retention lock and holds, its clock, and when it first saw each snapshot (the age the vault counts). */
  async retentionFacts(): Promise<RetentionFacts> {
    const r = await this.client.retention();
    return { lock: r.lock ?? undefined, holds: r.holds, now: new Date(r.now), seen: new Map(Object.entries(r.seen)) };
  }

  /** Deletion of snapshots and packs by the vault, when it holds the repository's delete credential (else undefined). */
  deleter(): Promise<VaultDeleter | undefined> {
    return this.client.deleter();
  }

  /** `ebak retention` against the vault, which applies the rules; `password` is asked only when it wants a step-up. */
  retentionDesk(password: () => Promise<string>): RetentionDesk {
    const view = (r: RetentionResponse): RetentionView => ({ lock: r.lock ?? undefined, holds: r.holds, enforcedBy: 'vault' });
    const change = async (c: RetentionRequest) => view(await this.client.changeRetention(c, password));
    return {
      show: async () => view(await this.client.retention()),
      lock: (q) => change({ op: 'lock', mode: q.mode, min_days: q.minDays, ...(q.maxDays === undefined ? {} : { max_days: q.maxDays }), changeable_for_days: q.changeableForDays }),
      unlock: () => change({ op: 'unlock' }),
      hold: (snapshot, reason) => change({ op: 'hold', snapshot, reason }),
      release: (snapshot) => change({ op: 'release', snapshot }),
    };
  }

  pending(): Required<HeadNames> {
    return { snapshots: [...this.pendingNames.snapshots], indexes: [...this.pendingNames.indexes] };
  }

  private async post(n: HeadNames, pending: boolean): Promise<void> {
    const remove_snapshots = [...(n.snapshots ?? [])];
    const remove_indexes = [...(n.indexes ?? [])];
    if (remove_snapshots.length + remove_indexes.length === 0) return;
    await this.client.post({ remove_snapshots, remove_indexes, ...(pending ? { pending } : {}) });
    if (pending) return;
    this.pendingNames.snapshots = this.pendingNames.snapshots.filter((x) => !remove_snapshots.includes(x));
    this.pendingNames.indexes = this.pendingNames.indexes.filter((x) => !remove_indexes.includes(x));
  }
}

/** Storage checked against the head (see the header); refuses with ROLLBACK, or returns the recorder. */
export async function checkHead(client: HeadClient, backend: Backend, warn: (message: string) => void): Promise<VaultHead> {
  const before = await client.fetch();
  const listing = { snapshots: await names(backend, 'snapshots'), indexes: await names(backend, 'index') };
  let found = compareHead(before, listing, before, client.device);
  const after = found.missing.length > 0 ? await client.fetch() : before;
  if (after !== before) found = compareHead(before, listing, after, client.device);
  if (found.missing.length + found.replayed.length > 0) throw new EbakError('ROLLBACK', rollbackMessage(found, after.seq));
  if (found.unconfirmedMissing.length > 0) warn(unconfirmedMessage(found.unconfirmedMissing));
  const head = new VaultHead(client, after);
  // Added again by a full device, which confirms them (a write-only device's repeat would be ignored).
  if (!client.writeOnly) for (const { kind, name } of found.unconfirmedPresent) head.stored(kind, name);
  if (found.unknown.length > 0) {
    warn(unknownMessage(found.unknown));
    for (const { kind, name } of found.unknown) head.stored(kind, name);
  }
  return head;
}

function unknownMessage(unknown: HeadComparison['unknown']): string {
  const first = unknown[0]!;
  return `${unknown.length} object(s) in storage the vault's repository head does not know (first: ${first.kind} ${first.name.slice(0, 16)}): ` +
    'a backup stopped before telling the vault, or a writer outside it; they are added to the head';
}

async function names(backend: Backend, type: FileType): Promise<string[]> {
  const out: string[] = [];
  for await (const f of backend.list(type)) out.push(f.name);
  return out;
}
