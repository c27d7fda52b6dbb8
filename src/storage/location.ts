/**
 * Parses a repository location (argument or EBAK_REPOSITORY):
 *   s3:https://HOST[:PORT]/BUCKET[/PREFIX]   any S3 endpoint, path-style addressing
 *   s3:http://HOST[:PORT]/BUCKET[/PREFIX]    plain HTTP, for local servers
 *   s3:BUCKET[/PREFIX]                       AWS itself, region from the AWS configuration
 *   s3:s3[.REGION].amazonaws.com/BUCKET[/PREFIX]   restic's spelling of AWS itself
 *   local:PATH, or anything else             a local directory path
 * The other backends restic has (sftp:, rest:, b2:, ...) are refused by name:
 * taken as a directory, `sftp:host:/x` would silently back up to ./sftp:host:/x.
 * Credentials never belong in a location: one given inside the URL is refused
 * (and never echoed), so `location` strings are always safe to print.
 */
import { EbakError } from '../errors.js';

export type Location =
  | { readonly kind: 'local'; readonly path: string }
  | {
      readonly kind: 's3';
      /** Origin of a custom endpoint ("https://host:port"); undefined for AWS itself. */
      readonly endpoint?: string;
      readonly bucket: string;
      /** Key prefix without leading or trailing slash; "" for the bucket's root. */
      readonly prefix: string;
    };

export type S3Location = Extract<Location, { kind: 's3' }>;

export function parseLocation(location: string): Location {
  if (location === '') throw new EbakError('USAGE', 'empty repository location', { hint: 'give a directory path or s3:https://HOST/BUCKET[/PREFIX]' });
  if (location.startsWith('local:')) return { kind: 'local', path: location.slice('local:'.length) };
  const scheme = /^([a-z0-9]+):/.exec(location)?.[1];
  if (scheme !== undefined && UNSUPPORTED.has(scheme))
    throw usage(`the ${scheme} backend is not supported by ebak`, 'ebak stores repositories in a local directory or on S3 (s3:…); a path that starts like this needs ./ in front');
  if (!location.startsWith('s3:')) return { kind: 'local', path: location };
  const rest = location.slice(3);
  if (/^https?:\/\//i.test(rest)) return parseEndpoint(rest);
  if (rest.includes('://')) throw usage(`unsupported scheme in S3 location ${JSON.stringify(safe(location))}`);
  return awsHost(rest) ?? { kind: 's3', ...splitBucket(rest) };
}

/** restic's other backends, and the URL schemes users try. */
const UNSUPPORTED = new Set(['sftp', 'rest', 'b2', 'rclone', 'azure', 'gs', 'swift', 'smb', 'ftp', 'http', 'https']);

/**
 * restic writes AWS as `s3:s3.amazonaws.com/bucket`: the global host means
 * AWS with the configured region, a regional host is that region's endpoint.
 * A host with a port (minio.local:9000) is not a bucket name either: the
 * error says how to write it.
 */
function awsHost(rest: string): Location | undefined {
  const [host = '', ...path] = rest.split('/');
  if (host === 's3.amazonaws.com') return { kind: 's3', ...splitBucket(path.join('/')) };
  if (/^s3[.-][a-z0-9-]+\.amazonaws\.com$/.test(host)) return { kind: 's3', endpoint: `https://${host}`, ...splitBucket(path.join('/')) };
  if (host.includes(':')) throw usage(`${JSON.stringify(safe(host))} is not an S3 bucket name`, `for a server of your own, write s3:https://${safe(rest)}`);
  return undefined;
}

/** The location as printed: canonical form, no credentials. */
export function formatLocation(l: Location): string {
  if (l.kind === 'local') return l.path;
  const path = l.prefix === '' ? l.bucket : `${l.bucket}/${l.prefix}`;
  return l.endpoint === undefined ? `s3:${path}` : `s3:${l.endpoint}/${path}`;
}

function parseEndpoint(text: string): Location {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw usage(`malformed S3 endpoint URL in location ${JSON.stringify(safe(text))}`);
  }
  if (url.username !== '' || url.password !== '')
    throw usage('credentials are not allowed inside the repository location', 'give them through AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE');
  if (url.search !== '' || url.hash !== '') throw usage(`S3 location ${JSON.stringify(safe(text))} must not have a query or fragment`);
  const path = decodeURIComponent(url.pathname.replace(/^\/+/, ''));
  return { kind: 's3', endpoint: url.origin, ...splitBucket(path) };
}

function splitBucket(path: string): { bucket: string; prefix: string } {
  const parts = path.split('/').filter((p) => p !== '');
  const bucket = parts.shift() ?? '';
  // S3 bucket naming rules (lower-case DNS-style labels), also what path-style needs.
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..'))
    throw usage(`invalid S3 bucket name ${JSON.stringify(bucket)}`, 'bucket names have 3-63 lower-case letters, digits, dots or hyphens');
  if (parts.some((p) => p === '.' || p === '..')) throw usage(`S3 prefix must not contain "." or ".." segments`);
  return { bucket, prefix: parts.join('/') };
}

/** Drops anything that looks like userinfo so an error can never echo a secret. */
function safe(text: string): string {
  return text.replace(/\/\/[^/@]*@/, '//***@');
}

function usage(message: string, hint = 'use s3:https://HOST[:PORT]/BUCKET[/PREFIX] or s3:BUCKET[/PREFIX]'): EbakError {
  return new EbakError('USAGE', message, { hint });
}
