/**
 * Plays S3 archive storage in the proxy, for objects s3rver holds (s3rver
 * stores the storage class but serves GLACIER objects at once and answers
 * RestoreObject with 501). For each key in `archived`: GET is refused with
 * 403 InvalidObjectState until the key is restored; POST ?restore is recorded
 * and accepted (202); HEAD says DEEP_ARCHIVE, then after a restore request
 * `ongoing-request="true"`, and from the `readyAfter`-th HEAD after it on
 * `ongoing-request="false", expiry-date=...`, from when GETs go through.
 * A listing (ListObjectsV2) names archived keys' class as S3 does,
 * DEEP_ARCHIVE (s3rver lists every object as STANDARD).
 */
import type { Fault, Recorded } from '../storage/proxy.js';
import { classify } from './fixture.js';

export class GlacierSim {
  /** RestoreObject requests, by key, in order. */
  readonly restoreRequests: string[] = [];
  /** HEADs of archived keys, by key. */
  readonly heads = new Map<string, number>();
  private readonly polls = new Map<string, number>();
  private readonly ready = new Set<string>();

  /** `readyAfter`: HEADs after the restore request until the copy is ready (Infinity: never). */
  constructor(readonly archived: ReadonlySet<string>, public readyAfter: number) {}

  readonly fault = (q: Recorded): Fault | undefined => {
    const { key } = classify(q);
    const query = new URL(q.url, 'https://x').searchParams;
    const listing = listedArchived(this.archived, q);
    if (listing) return listing;
    if (!this.archived.has(key)) return undefined;
    if (q.method === 'POST' && query.has('restore')) {
      this.restoreRequests.push(key);
      if (this.polls.has(key)) return { status: 409, code: 'RestoreAlreadyInProgress' };
      this.polls.set(key, 0);
      return { reply: { status: 202 } };
    }
    if (q.method === 'HEAD') return this.head(key);
    if (q.method === 'GET' && !this.ready.has(key)) return { status: 403, code: 'InvalidObjectState' };
    return undefined;
  };

  private head(key: string): Fault {
    this.heads.set(key, (this.heads.get(key) ?? 0) + 1);
    const polls = this.polls.get(key);
    const headers: Record<string, string> = { 'x-amz-storage-class': 'DEEP_ARCHIVE' };
    if (polls !== undefined) {
      this.polls.set(key, polls + 1);
      if (polls + 1 >= this.readyAfter) this.ready.add(key);
      const expiry = new Date(Date.now() + 86_400_000).toUTCString();
      headers['x-amz-restore'] = this.ready.has(key) ? `ongoing-request="false", expiry-date="${expiry}"` : 'ongoing-request="true"';
    }
    return { addHeaders: headers };
  }
}

/** A listing (ListObjectsV2) answered with the `archived` keys in DEEP_ARCHIVE, as S3 lists them; undefined for any other request. */
export function listedArchived(archived: ReadonlySet<string>, q: Recorded): Fault | undefined {
  if (q.method !== 'GET' || new URL(q.url, 'https://x').searchParams.get('list-type') !== '2') return undefined;
  return {
    rewriteBody: (body) => Buffer.from(body.toString().replace(/<Contents>([\s\S]*?)<\/Contents>/g, (block, inner: string) =>
      (archived.has(/<Key>([^<]*)<\/Key>/.exec(inner)?.[1] ?? '') ? block.replace(/<StorageClass>[^<]*<\/StorageClass>/, '<StorageClass>DEEP_ARCHIVE</StorageClass>') : block))),
  };
}
