/**
 * Pack records (issue 15; docs/retention.md "Vault mode: the vault deletes"):
 * sealed `sp/<account>/<snapshot>`, the packs a snapshot references as the
 * devices that added it said, which the vault's pack refusals rest on
 * (deletion.ts). Apart from deletion.ts because the head post writes them
 * (head.ts, in the head's own commit) and deletion.ts reads the head: each
 * imports this, neither the other.
 *
 * The rules, so that no device can take protection away from packs another
 * device recorded:
 * - the head post that makes a snapshot live records the packs it carries
 *   for it, replacing any earlier record (one a racing device posted first
 *   through `POST /v1/snapshot-packs`);
 * - a later head post that adds the snapshot again (another device saw it in
 *   storage) merges the packs it carries into the record: a record only
 *   grows while its snapshot is live, and a device adding the snapshot
 *   before its maker (it listed storage meanwhile) with fewer packs is
 *   outvoted by the maker's own post. Past MAX_HEAD_NAMES packs the record
 *   becomes `unknown`: the vault then deletes no pack while the snapshot is
 *   protected (the safe side; any device could cause that anyway by adding
 *   a snapshot without packs);
 * - a snapshot live without a record stays so (a device adding it again
 *   with fewer packs could otherwise unprotect what the vault pins whole).
 */
import { MAX_HEAD_NAMES } from '../protocol.js';

/**
 * Format 1: `packs` (sorted), `device` (the one whose post made it), `at`;
 * `also`: the other devices whose re-additions merged packs in. `unknown`:
 * merged past the bound. `removed`: what builds before the purge left at a deletion.
 */
export type PackRecord =
  | { format: 1; packs: string[]; device: string; at: string; also?: string[] }
  | { format: 1; unknown: true; device: string; at: string }
  | { format: 1; removed: true };

export const spId = (account: string, snapshot: string) => `sp/${account}/${snapshot}`;

/** The record of `packs` made by `device` at `at`. */
export const packRecord = (packs: readonly string[], device: string, at: Date): PackRecord => ({ format: 1, packs: [...packs].sort(), device, at: at.toISOString() });

/** The packs a record names, or undefined when it names none the vault may trust (unknown, removed). */
export const recordedPacks = (r: PackRecord | undefined): readonly string[] | undefined => (r !== undefined && 'packs' in r ? r.packs : undefined);

/**
 * `cur` with the packs a re-addition by `device` carries merged in; undefined
 * when nothing changes (no record to merge into, or no new pack).
 */
export function mergedRecord(cur: PackRecord | undefined, packs: readonly string[], device: string, at: Date): PackRecord | undefined {
  if (cur === undefined || !('packs' in cur)) return undefined;
  const known = new Set(cur.packs);
  const added = packs.filter((p) => !known.has(p));
  if (added.length === 0) return undefined;
  if (cur.packs.length + added.length > MAX_HEAD_NAMES) return { format: 1, unknown: true, device, at: at.toISOString() };
  const also = cur.device === device || cur.also?.includes(device) ? cur.also : [...(cur.also ?? []), device];
  return { ...cur, packs: [...cur.packs, ...added].sort(), ...(also ? { also } : {}) };
}
