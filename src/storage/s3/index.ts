/**
 * The S3 backend, by duty: backend.ts (the Backend), client.ts (the SDK
 * client from typed options and the AWS variables), sdk.ts (the SDK's
 * classes, loaded the cheaper way), errors.ts (failures
 * into EbakError codes, transient ones retryable), metering.ts (requests
 * counted as S3 bills them), objectlock.ts (WORM retention), thaw.ts
 * (restores from archive storage). This file opens one and exports what
 * callers outside src/storage/s3 use.
 *
 * The AWS SDK takes ~65 ms to load (sdk.ts), more than a local `ebak snapshots`
 * takes in all: only `openS3` loads it (the backend, client and metering
 * modules), so a command on a local repository never does.
 */
import type { RequestCounter } from '../accounting.js';
import type { S3Location } from '../location.js';
import type { S3Backend, S3BackendOptions } from './backend.js';
import type { AwsSettings, ClientOptions } from './client.js';

export type { S3Backend } from './backend.js';
export { DATA_STORAGE_CLASSES, type DataStorageClass } from './classes.js';
export type { AwsSettings } from './client.js';
export { requestClass } from './metering.js';
export { checkObjectLock, OBJECT_LOCK_MODES, type ObjectLockMode, type ObjectLockOptions } from './objectlock.js';
export { restoreSettings, RESTORE_TIERS, type ArchiveRestoreOptions, type RestoreTier } from './thaw.js';

export interface S3Options extends S3BackendOptions, ClientOptions {}

/** An S3 backend at `loc`; with `counter`, every HTTP request it sends is counted there. */
export async function openS3(loc: S3Location, aws: AwsSettings, opts: S3Options = {}, counter?: RequestCounter): Promise<S3Backend> {
  const [{ S3Backend }, { createClient }, { meter }] = await Promise.all([import('./backend.js'), import('./client.js'), import('./metering.js')]);
  const { client, region } = await createClient(loc, aws, opts);
  if (counter) meter(client, counter);
  return new S3Backend(client, loc, region, opts);
}
