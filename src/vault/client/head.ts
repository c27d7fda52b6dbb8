/**
 * The repository head, client side (docs/vault.md "Repository head"): fetch
 * it (its digest checked), post deltas (chunked to the vault's limit), and
 * compare it with what storage lists. It needs object names only, never
 * their contents, so a credential that cannot read snapshots can post too.
 *
 * The comparison takes two heads, one fetched before the listing and one
 * after, so that writers working meanwhile raise no alarm: an addition is
 * posted after its object is stored, a removal is posted pending before its
 * object is deleted. So a name live in both heads and absent from the
 * listing was deleted behind the head's back, and a name removed in the
 * first head and present in the listing was put back. A name only a
 * write-only device vouches for (unconfirmed, server/head.ts) and missing
 * is a warning naming that device, not a rollback, except to that device
 * itself (it knows what it stored, so to it a loss is a rollback).
 */
import { EbakError } from '../../errors.js';
import { HEAD_LISTS, MAX_HEAD_NAMES, MAX_PACKED_SNAPSHOTS, headDigest, type HeadDeltaRequest, type HeadResponse, type HeadState, type RetentionRequest, type RetentionResponse, type DrillRecordRequest } from '../protocol.js';
import type { VaultClient } from './client.js';
import { VaultDeleter } from './deleter.js';
import { VaultError } from './errors.js';

/** What storage holds now: the names under snapshots/ and index/. */
export interface HeadListing {
  snapshots: readonly string[];
  indexes: readonly string[];
}

export interface HeadComparison {
  /** Live in the head, absent from storage. */
  missing: { kind: 'snapshot' | 'index'; name: string }[];
  /** Removed in the head, present in storage. */
  replayed: { kind: 'snapshot' | 'index'; name: string }[];
  /** In storage, unknown to the head (a writer that crashed before posting, or one outside the vault). */
  unknown: { kind: 'snapshot' | 'index'; name: string }[];
  /** Live in the head, absent from storage, posted by a write-only device and never confirmed (no rollback: see server/head.ts). */
  unconfirmedMissing: { kind: 'snapshot' | 'index'; name: string; device: string }[];
  /** Posted by a write-only device, unconfirmed, and present in storage: a full device's session confirms them. */
  unconfirmedPresent: { kind: 'snapshot' | 'index'; name: string }[];
}

/** A head as compareHead reads it: the sets, and the unconfirmed names when the vault sent them. */
export type ComparedHead = HeadState & Partial<Pick<HeadResponse, 'unconfirmed_snapshots' | 'unconfirmed_indexes'>>;

export class HeadClient {
  /** `writeOnly`: a write-only device's session (its additions are unconfirmed, its repeats confirm nothing). */
  constructor(private readonly client: VaultClient, private readonly token: string, readonly account: string, readonly writeOnly = false) {}

  /** This session's device id (the token's middle part): a device vouches for its own additions. */
  get device(): string {
    return this.token.split('.').at(-2) ?? '';
  }

  /** The head, refused unless its digest is the one its contents give. */
  async fetch(): Promise<HeadResponse> {
    const h = await this.client.head(this.token);
    if (headDigest(this.account, h) !== h.digest) throw new EbakError('VAULT', `the vault's repository head for ${this.account} does not match its own digest`);
    return h;
  }

  /** Deletion through the vault, when it holds this repository's delete credential (client/deleter.ts). */
  deleter(): Promise<VaultDeleter | undefined> {
    return VaultDeleter.open(this.client, this.token);
  }

  /** A restore drill's result, for the account's audit log (POST /v1/drills). */
  recordDrill(record: DrillRecordRequest): Promise<{ seq: number }> {
    return this.client.postDrill(this.token, record);
  }

  /** The account's retention lock and holds (GET /v1/retention). */
  retention(): Promise<RetentionResponse> {
    return this.client.retention(this.token);
  }

  /** One retention change; `password`, asked only when the vault wants a step-up, gets the grant and the change is sent again. */
  async changeRetention(change: RetentionRequest, password: () => Promise<string>): Promise<RetentionResponse> {
    try {
      return await this.client.postRetention(this.token, change);
    } catch (e) {
      if (!(e instanceof VaultError) || e.vaultCode !== 'step_up_required') throw e;
      const stepUp = await this.client.stepUp(this.token, this.account, await password());
      return this.client.postRetention(this.token, { ...change, step_up: stepUp } as RetentionRequest);
    }
  }

  /** Posts `delta` in as many requests as the vault's size limit needs; returns the last seq. */
  async post(delta: HeadDeltaRequest): Promise<number> {
    let seq = -1;
    for (const part of chunks(delta)) seq = (await this.client.postHead(this.token, part)).seq;
    return seq;
  }
}

/**
 * `delta` split into deltas the vault takes (none when it names nothing): at most MAX_HEAD_NAMES names, and at
 * most MAX_HEAD_NAMES pack names over MAX_PACKED_SNAPSHOTS snapshots, each snapshot's packs beside its addition.
 */
export function chunks(delta: HeadDeltaRequest): HeadDeltaRequest[] {
  const out: HeadDeltaRequest[] = [];
  let cur: HeadDeltaRequest = {};
  let n = { names: 0, packs: 0, packed: 0 };
  const full = (packs: readonly string[] | undefined) =>
    n.names === MAX_HEAD_NAMES || (packs !== undefined && (n.packed === MAX_PACKED_SNAPSHOTS || n.packs + packs.length > MAX_HEAD_NAMES));
  for (const field of HEAD_LISTS) {
    for (const name of delta[field] ?? []) {
      const packs = field === 'add_snapshots' ? delta.packs?.[name] : undefined;
      if (n.names > 0 && full(packs)) {
        out.push(cur);
        cur = {};
        n = { names: 0, packs: 0, packed: 0 };
      }
      (cur[field] ??= []).push(name);
      n.names++;
      if (packs === undefined) continue;
      (cur.packs ??= {})[name] = packs;
      n.packs += packs.length;
      n.packed++;
    }
  }
  if (n.names > 0) out.push(cur);
  return delta.pending ? out.map((d) => ({ ...d, pending: true })) : out;
}

/**
 * Compares `listing` with the heads fetched before it and (when any name
 * seemed missing) after it; `self` is the comparing device (a write-only
 * one's own additions missing are a rollback to it).
 */
export function compareHead(before: ComparedHead, listing: HeadListing, after: ComparedHead = before, self?: string): HeadComparison {
  const out: HeadComparison = { missing: [], replayed: [], unknown: [], unconfirmedMissing: [], unconfirmedPresent: [] };
  const kinds = [
    { kind: 'snapshot' as const, stored: new Set(listing.snapshots), b: sets(before, 'snapshots', self), a: sets(after, 'snapshots', self) },
    { kind: 'index' as const, stored: new Set(listing.indexes), b: sets(before, 'indexes', self), a: sets(after, 'indexes', self) },
  ];
  for (const { kind, stored, b, a } of kinds) {
    for (const name of b.live) {
      if (!a.live.has(name)) continue;
      // Unconfirmed in the first head: the second may have confirmed it only because another full device saw it.
      const device = b.unconfirmed.get(name) ?? a.unconfirmed.get(name);
      if (!stored.has(name)) (device === undefined ? out.missing.push({ kind, name }) : out.unconfirmedMissing.push({ kind, name, device }));
      else if (a.unconfirmed.has(name)) out.unconfirmedPresent.push({ kind, name });
    }
    for (const name of stored) {
      if (b.removed.has(name)) out.replayed.push({ kind, name });
      else if (!a.live.has(name) && !a.pending.has(name) && !a.removed.has(name)) out.unknown.push({ kind, name });
    }
  }
  return out;
}

/** `self`'s own unconfirmed names count as confirmed: the device that posted them vouches for them. */
function sets(h: ComparedHead, kind: 'snapshots' | 'indexes', self: string | undefined) {
  const unconfirmed = new Map(Object.entries(h[`unconfirmed_${kind}`] ?? {}).filter(([, by]) => by !== self));
  return { live: new Set(h[kind]), pending: new Set(h[`pending_${kind}`]), removed: new Set(h[`removed_${kind}`]), unconfirmed };
}

/** The warning for write-only additions missing from storage: whose they are, and how to drop them. */
export function unconfirmedMessage(l: HeadComparison['unconfirmedMissing']): string {
  const devices = [...new Set(l.map((x) => x.device))];
  return `${l.length} object(s) posted to the vault's repository head by write-only device(s) ${devices.join(', ')} are not in storage (first: ${l[0]!.kind} ${l[0]!.name.slice(0, 16)}), ` +
    'and no full device has seen them: that device posted names it never stored (or storage lost them before any full device looked); ' +
    `\`ebak device revoke ${devices[0]}\` forgets them`;
}

/** The one line a ROLLBACK refusal says: what is missing or replayed, the first of each named. */
export function rollbackMessage(c: HeadComparison, seq: number): string {
  const part = (what: string, l: HeadComparison['missing']) => {
    if (l.length === 0) return [];
    const first = `${l[0]!.kind} ${l[0]!.name.slice(0, 16)}`;
    return [`${l.length} object(s) ${what} (first: ${first})`];
  };
  const parts = [...part('missing from storage', c.missing), ...part('removed earlier and back in storage', c.replayed)];
  return `the storage is older than the vault's repository head (seq ${seq}): ${parts.join('; ')}`;
}
