/**
 * Classification of S3 failures: every SDK, HTTP and socket failure becomes
 * one EbakError with a stable code (NO_REPOSITORY, NOT_FOUND, CORRUPT,
 * USAGE, STORAGE, STORAGE_UNREACHABLE, CANCELLED) and a one-line message naming what
 * was being done where.
 * The transient ones (throttling, 5xx, connection resets, timeouts) are
 * marked `retryable` for the retry wrapper; everything else is permanent.
 */
import { EbakError } from '../../errors.js';
import { cancelled } from '../cancel.js';
import { retryable } from '../retry.js';

const CREDENTIAL_ERRORS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'CredentialsProviderError', 'InvalidClientTokenId']);
const THROTTLE_ERRORS = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'Throttling', 'ThrottlingException', 'RequestTimeTooSkewed', 'TimeoutError']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);
/** The network failures that mean the endpoint was not reached at all (STORAGE_UNREACHABLE, not a dropped connection). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO/;
const CREDENTIAL_HINT = 'check the S3 credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and the bucket policy';

/** One classification of every SDK, HTTP and socket failure into an EbakError. */
export function mapS3Error(e: unknown, what: string, location: string, bucket: string): EbakError {
  if (e instanceof EbakError) return e;
  const name = errorName(e);
  const status = httpStatus(e);
  const code = String((e as { code?: unknown }).code ?? '');
  const detail = oneLine(e, name);
  const at = `${what} on ${location}`;
  // The call's signal aborted the request (CallOptions): never retried.
  if (name === 'AbortError') return cancelled(at, e);
  if (name === 'NoSuchBucket')
    return new EbakError('NO_REPOSITORY', `${at}: bucket ${bucket} does not exist`, { cause: e, hint: 'check the repository location, or create it with `ebak init`' });
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return new EbakError('NOT_FOUND', `${at}: object does not exist`, { cause: e });
  // S3 refuses GetObject on a GLACIER / DEEP_ARCHIVE object not restored (403).
  if (name === 'InvalidObjectState')
    return new EbakError('STORAGE', `${at}: the object is in archive storage (GLACIER or DEEP_ARCHIVE) and must be restored before it can be read`, {
      cause: e,
      hint: 'restore the data packs with S3 RestoreObject (aws s3api restore-object), wait until they are readable, then run the command again',
    });
  // 501: the service lacks the operation (S3-compatible servers without archive tiers); waiting will not help.
  if (name === 'NotImplemented' || status === 501)
    return new EbakError('STORAGE', `${at}: the storage service does not implement this request`, { cause: e, hint: 'this S3-compatible service lacks the feature; use one that has it, or AWS S3' });
  // S3 checked an upload's bytes against x-amz-checksum-sha256 (BadDigest) or the signed payload hash: for a
  // pack both are its id, so its bytes changed after it was hashed. Sending the same buffer again would not help.
  if (name === 'BadDigest' || name === 'XAmzContentSHA256Mismatch')
    return new EbakError('CORRUPT', `${at}: S3 refused the upload: its bytes do not match their SHA-256 (changed in memory, on local disk or in transit)`, { cause: e, hint: 'run the command again; if it recurs, check this machine\'s memory and disk' });
  if (name === 'InvalidRange' || status === 416) return new EbakError('CORRUPT', `${at}: range lies beyond the end of the object`, { cause: e });
  if (CREDENTIAL_ERRORS.has(name) || status === 403 || status === 401)
    return new EbakError('STORAGE', `${at}: access denied (${name})`, { cause: e, hint: CREDENTIAL_HINT });
  if (TLS_CODES.test(code))
    return new EbakError('STORAGE', `${at}: TLS failure (${code})`, { cause: e, hint: "trust the endpoint's CA with NODE_EXTRA_CA_CERTS or AWS_CA_BUNDLE, or check the endpoint address" });
  if (/region is missing/i.test(detail))
    return new EbakError('USAGE', `${at}: no AWS region configured`, { cause: e, hint: 'set AWS_REGION or a region in the AWS profile' });
  if (THROTTLE_ERRORS.has(name) || (status !== undefined && status >= 500) || NETWORK_CODES.has(code))
    return retryable(new EbakError(UNREACHABLE_CODES.has(code) ? 'STORAGE_UNREACHABLE' : 'STORAGE', `${at}: ${detail}`, { cause: e, hint: 'check the network and the storage service, then run the command again; nothing was lost' }));
  return new EbakError('STORAGE', `${at}: ${detail}`, { cause: e });
}

/** The SDK's name for a failure (S3's error code, or the JavaScript error's name). */
export function errorName(e: unknown): string {
  return String((e as { name?: unknown } | undefined)?.name ?? 'Error');
}

/** The HTTP status of S3's answer, when there was one. */
export function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** SDK messages can be empty ("UnknownError") or span lines; errors are one line. */
function oneLine(e: unknown, name: string): string {
  const msg = String((e as { message?: unknown }).message ?? '').split('\n')[0]?.trim() ?? '';
  const code = (e as { code?: unknown }).code;
  const text = msg === '' || msg === 'UnknownError' ? name : msg;
  return typeof code === 'string' && !text.includes(code) ? `${text} (${code})` : text;
}
