/**
 * Snapshot payloads (docs/format.md, "Snapshot"): JSON inside an encrypted
 * object of type "snapshot". Field names follow restic's where they exist,
 * so scripts written for `restic snapshots --json` read ours.
 */
import { EbakError } from '../../errors.js';

export const SNAPSHOT_VERSION = 1;

export interface BackupSummary {
  files_new: number;
  files_changed: number;
  files_unmodified: number;
  dirs: number;
  files_unreadable: number;
  data_blobs_added: number;
  tree_blobs_added: number;
  /** Bytes read from the source and bytes written to the repository (after dedup, compression). */
  bytes_processed: number;
  total_bytes: number;
  data_added: number;
}

export interface Snapshot {
  version: number;
  time: string;
  hostname: string;
  username: string;
  paths: string[];
  tags: string[];
  excludes: string[];
  tree: string;
  parent?: string;
  /** Set when the snapshot was rewritten (`ebak tag`): the id it had first, as restic's `original`. */
  original?: string;
  program_version: string;
  summary?: BackupSummary;
}

export function encodeSnapshot(s: Snapshot): Buffer {
  // The object's own field order: decode → encode gives back the stored bytes (the vectors hold one with `parent` last).
  return Buffer.from(JSON.stringify(s));
}

export function decodeSnapshot(payload: Buffer, what: string): Snapshot {
  let s: Snapshot;
  try {
    s = JSON.parse(payload.toString('utf8')) as Snapshot;
  } catch {
    throw new EbakError('CORRUPT', `${what}: snapshot is not valid JSON`);
  }
  const ok =
    typeof s === 'object' && s !== null && s.version === SNAPSHOT_VERSION &&
    typeof s.time === 'string' && !Number.isNaN(Date.parse(s.time)) &&
    typeof s.hostname === 'string' && typeof s.username === 'string' &&
    isStrings(s.paths) && isStrings(s.tags) && isStrings(s.excludes) &&
    typeof s.tree === 'string' && /^[0-9a-f]{64}$/.test(s.tree) &&
    optionalId(s.parent) && optionalId(s.original);
  if (!ok) throw new EbakError(s?.version !== SNAPSHOT_VERSION ? 'UNSUPPORTED_VERSION' : 'CORRUPT', `${what}: not a valid version ${SNAPSHOT_VERSION} snapshot`);
  return s;
}

function optionalId(v: unknown): boolean {
  return v === undefined || (typeof v === 'string' && /^[0-9a-f]{64}$/.test(v));
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}
