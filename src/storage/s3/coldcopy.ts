/**
 * Moving a data pack to a colder storage class in place
 * (Backend.changeStorageClass of the S3 backend): S3 changes an object's
 * class only by copying it, so this copies the pack onto its own key with
 * the new class (CopyObject, only if its ETag is still the one just read),
 * then reads the copy's head back and trusts it only when it has the same
 * size and class asked, and the same bytes: S3's SHA-256 of the copy equals
 * the pack's name (names are the SHA-256 of the stored bytes), or, when the
 * service reports no checksum, the ETag (the MD5 of a single-part object) is
 * unchanged. It talks to S3 only through CopyOps, so the backend owns the
 * requests and their errors.
 */
import { EbakError } from '../../errors.js';
import { describe, type Handle } from '../backend.js';
import { coldness } from './classes.js';

export interface ObjectHead {
  readonly size: number;
  readonly etag?: string | undefined;
  /** "STANDARD" when S3 names none. */
  readonly storageClass: string;
}

export interface CopyOps {
  head(h: Handle): Promise<ObjectHead>;
  /** CopyObject of `h` onto itself in `storageClass`, if its ETag is still `etag`; S3's SHA-256 of the copy (base64), when it says. */
  copyInPlace(h: Handle, storageClass: string, etag: string | undefined): Promise<{ checksumSHA256?: string | undefined }>;
}

export async function moveColder(ops: CopyOps, h: Handle, storageClass: string): Promise<'moved' | 'unchanged'> {
  const before = await ops.head(h);
  if (coldness(before.storageClass) >= coldness(storageClass)) return 'unchanged';
  const { checksumSHA256 } = await ops.copyInPlace(h, storageClass, before.etag);
  const after = await ops.head(h);
  const sameBytes = checksumSHA256 !== undefined
    ? checksumSHA256 === Buffer.from(h.name, 'hex').toString('base64')
    : before.etag !== undefined && !before.etag.includes('-') && after.etag === before.etag;
  if (after.size !== before.size || after.storageClass !== storageClass || !sameBytes)
    throw new EbakError('CORRUPT', `${describe(h)}: its copy in ${storageClass} does not match the pack (${after.size} bytes, ${after.storageClass}, ${sameBytes ? 'same' : 'unconfirmed'} content)`, {
      hint: 'run `ebak check --read-data` on the repository',
    });
  return 'moved';
}
