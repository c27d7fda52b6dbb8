/**
 * Deletion performed by the vault (issue 15; docs/retention.md "Vault mode:
 * the vault deletes"): where the operator gave the vault a repository's
 * delete credential (`ebak vault serve --delete-credentials`), the clients'
 * own storage credentials cannot delete snapshots or packs (their IAM policy
 * has no s3:DeleteObject there), so a forget or prune asks the vault, which
 * deletes what the retention lock and holds allow with the credential only it
 * holds. A patched client can ask, but not decide.
 *
 * The rules, with what the vault knows (it never holds K, so it cannot read a
 * tree or an index):
 * - a snapshot live or pending in the head and protected at the vault's `now`
 *   (retention.ts `protectedReason`, the head's first sightings) is refused;
 * - a pack is refused when a protected snapshot's recorded pack set (sent
 *   by the device that adds the snapshot to the head, in that head post;
 *   `POST /v1/snapshot-packs` before it from older clients) holds it, and
 *   every pack is refused while a protected snapshot has no record (the
 *   vault cannot know what it needs).
 * A refusal refuses the whole request (nothing is deleted) and is audited
 * `retention.refuse`; a deletion is audited `retention.delete` with counts.
 *
 * Sealed records: `sp/<account>/<snapshot>` (packrecord.ts: written by the
 * head post that makes the snapshot live, grown by later re-additions, never
 * shrunk, so a device patched later cannot take away what was recorded at
 * backup time). Before the head post, the first snapshot-packs record stands
 * (what an older client's head post, which carries none, leaves). A record is purged (SealedState.remove) when the
 * vault deletes its snapshot: the vault refused that unless nothing protected
 * the snapshot, and a snapshot out of the head is never asked about again.
 * `{format: 1, removed: true}` is what builds before the purge left instead.
 */
import { protectedReason } from '../../retention/lock.js';
import { VaultRefusal, type DeleteRequest, type DeleteResponse, type DeleteStatus, type SnapshotPacksRequest } from '../protocol.js';
import { currentHead, type HeadRecord } from './headrecord.js';
import { packRecord, recordedPacks, spId, type PackRecord } from './packrecord.js';
import { requireFull, type Deps, type Session } from './records.js';
import { retentionRecord } from './retention.js';

/** The storage of one repository, reached with the delete credential the vault holds. */
export interface RepositoryDeleter {
  /** Deletes one object; a missing one is no error. */
  remove(type: 'snapshots' | 'data', name: string): Promise<void>;
}

/** The delete credential's storage for an account (one account = one repository), if the vault holds one. */
export type Deleters = (account: string) => Promise<RepositoryDeleter | undefined>;

interface Pins {
  /** Protected snapshot → why. */
  snapshots: Map<string, string>;
  /** Pack → the first protected snapshot whose record holds it. */
  packs: Map<string, { snapshot: string; reason: string }>;
  unrecorded?: { snapshot: string; reason: string };
}


export class Deletions {
  constructor(private readonly d: Deps, private readonly deleters: Deleters) {}

  /** `GET /v1/delete`: whether the vault deletes for this repository, and the packs it would refuse (what prune keeps whole). */
  async status(s: Session): Promise<DeleteStatus> {
    const account = s.account.account;
    if (!(await this.deleters(account))) return { enabled: false, pinned: [], pinned_all: false };
    const pins = await this.pins(account, this.d.now());
    return { enabled: true, pinned: [...pins.packs.keys()].sort(), pinned_all: pins.unrecorded !== undefined };
  }

  /**
   * `POST /v1/snapshot-packs`, for clients older than the head post's `packs`: a record of a snapshot not yet in
   * the head; the first one stands until the head post that adds the snapshot replaces it with its own (head.ts).
   * For a snapshot live in the head it is ignored (`recorded: false`), not refused: its adder recorded it, and an
   * older client posts it there only confirming a write-only device's snapshot, which must not fail its command.
   */
  async recordPacks(s: Session, req: SnapshotPacksRequest): Promise<{ recorded: boolean }> {
    const account = s.account.account;
    const head = await currentHead(this.d, account);
    if (head.removed_snapshots.includes(req.snapshot) || head.pending_snapshots.includes(req.snapshot))
      throw new VaultRefusal('forbidden', `snapshot ${req.snapshot.slice(0, 8)} is being removed: its packs are recorded at backup time`);
    if (head.snapshots.includes(req.snapshot)) return { recorded: false };
    if (await this.d.state.read<PackRecord>(spId(account, req.snapshot))) return { recorded: false }; // no new version for a repeat
    let recorded = false;
    await this.d.state.update<PackRecord>(spId(account, req.snapshot), (cur) => {
      if (cur) return cur;
      recorded = true;
      return packRecord(req.packs, s.device.id, this.d.now());
    });
    return { recorded };
  }

  /** `POST /v1/delete`: all of it, or (refused, audited) nothing. */
  async delete(s: Session, req: DeleteRequest): Promise<DeleteResponse> {
    requireFull(s, 'deleting from the repository');
    const account = s.account.account;
    const storage = await this.deleters(account);
    if (!storage) throw new VaultRefusal('not_found', 'this vault holds no delete credential for the repository: the client deletes with its own');
    const snapshots = req.snapshots ?? [];
    const packs = req.packs ?? [];
    const refused = await this.refusal(account, snapshots, packs);
    if (refused) {
      await this.d.audit.append('retention.refuse', account, { device: s.device.id, ...refused.detail });
      throw new VaultRefusal('retention', refused.message);
    }
    for (const id of snapshots) {
      await storage.remove('snapshots', id);
      await this.d.state.remove(spId(account, id));
    }
    for (const id of packs) await storage.remove('data', id);
    await this.d.audit.append('retention.delete', account, { device: s.device.id, snapshots: snapshots.length, packs: packs.length });
    return { snapshots: snapshots.length, packs: packs.length };
  }

  /** Why the request is refused (the first reason found), or undefined. */
  private async refusal(account: string, snapshots: readonly string[], packs: readonly string[]) {
    const pins = await this.pins(account, this.d.now());
    const snapshot = snapshots.find((id) => pins.snapshots.has(id));
    if (snapshot) {
      const reason = pins.snapshots.get(snapshot)!;
      return { detail: { snapshot, reason: kind(reason) }, message: `snapshot ${snapshot.slice(0, 8)} is protected (${reason}): the vault refuses to delete it` };
    }
    if (packs.length === 0) return undefined;
    const u = pins.unrecorded;
    if (u) return { detail: { snapshot: u.snapshot, reason: 'no pack record' }, message: `snapshot ${u.snapshot.slice(0, 8)} is protected (${u.reason}) and the vault has no record of its packs: it deletes no pack` };
    const pack = packs.find((p) => pins.packs.has(p));
    if (!pack) return undefined;
    const by = pins.packs.get(pack)!;
    return { detail: { snapshot: by.snapshot, pack, reason: kind(by.reason) }, message: `pack ${pack.slice(0, 8)} holds data of snapshot ${by.snapshot.slice(0, 8)}, which is protected (${by.reason}): the vault refuses to delete it` };
  }

  /** The protected snapshots, the packs their records hold (each with the first snapshot naming it), and the first without a record. */
  private async pins(account: string, now: Date): Promise<Pins> {
    const snapshots = await this.protectedSnapshots(account, await currentHead(this.d, account), now);
    const out: Pins = { snapshots, packs: new Map() };
    for (const [snapshot, reason] of snapshots) {
      const packs = recordedPacks((await this.d.state.read<PackRecord>(spId(account, snapshot)))?.value);
      if (!packs) out.unrecorded ??= { snapshot, reason };
      else for (const p of packs) if (!out.packs.has(p)) out.packs.set(p, { snapshot, reason });
    }
    return out;
  }

  /** Every snapshot live or pending in the head that the lock or a hold protects at `now`, with the reason. */
  private async protectedSnapshots(account: string, head: HeadRecord, now: Date): Promise<Map<string, string>> {
    const rec = await retentionRecord(this.d, account);
    const out = new Map<string, string>();
    if (!rec.lock && rec.holds.length === 0) return out;
    for (const id of [...head.snapshots, ...head.pending_snapshots]) {
      const reason = protectedReason({ id, time: head.seen[id] ?? now.toISOString() }, rec.lock, rec.holds, now);
      if (reason) out.set(id, reason);
    }
    return out;
  }
}

const kind = (reason: string) => (reason.startsWith('legal hold') ? 'legal hold' : 'retention lock');
