/**
 * Building the AWS SDK client of the S3 backend from typed options and the
 * AWS tools' own settings (src/config reads their variables; nothing here
 * reads the environment).
 *
 * The SDK's retries are off (maxAttempts 1: retry.ts retries, and the two
 * would multiply), and its checksum machinery is set to WHEN_REQUIRED: with
 * its defaults it sends aws-chunked streams, which some S3-compatible
 * servers store verbatim (the backend sends x-amz-checksum-sha256 itself).
 */
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { S3Client as Client } from '@aws-sdk/client-s3';
import type { BuildMiddleware, MetadataBearer } from '@smithy/types';
import { S3Client } from './sdk.js';
import { EbakError } from '../../errors.js';
import type { S3Location } from '../location.js';

/**
 * The AWS tools' settings the client honours, typed (src/config/environment.ts
 * reads them from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_PROFILE, AWS_REGION, AWS_DEFAULT_REGION, AWS_CA_BUNDLE and
 * NODE_EXTRA_CA_CERTS). Every field may be absent: `{}` is the SDK's defaults.
 */
export interface AwsSettings {
  /** Static credentials; absent: the SDK's chain (the profile, SSO, instance roles). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
  readonly profile?: string;
  /** AWS_REGION. */
  readonly region?: string;
  /** AWS_DEFAULT_REGION, used when `region` is absent. */
  readonly defaultRegion?: string;
  /** CA bundles (PEM files) to trust besides the public roots: AWS_CA_BUNDLE's, NODE_EXTRA_CA_CERTS's. */
  readonly caFiles?: readonly string[];
}

export interface ClientOptions {
  /** Abandon a connection attempt after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Abandon a request whose socket stays idle this long (default 60 s). */
  readonly idleTimeoutMs?: number;
}

/**
 * Static credentials when given, otherwise the SDK's standard chain (the
 * profile, SSO, instance roles); the region given, us-east-1 for custom
 * endpoints, else the profile's (`region` undefined).
 */
export async function createClient(loc: S3Location, aws: AwsSettings, opts: ClientOptions = {}): Promise<{ client: Client; region: string | undefined }> {
  const region = aws.region || aws.defaultRegion || (loc.endpoint !== undefined ? 'us-east-1' : undefined);
  const credentials = aws.credentials && { ...aws.credentials, sessionToken: aws.credentials.sessionToken || undefined };
  const secureContext = await trustContext(aws.caFiles ?? []);
  const client = new S3Client({
    region,
    endpoint: loc.endpoint,
    forcePathStyle: loc.endpoint !== undefined,
    followRegionRedirects: loc.endpoint === undefined,
    credentials,
    profile: aws.profile || undefined,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64, ...(secureContext ? { secureContext } : {}) }),
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      connectionTimeout: opts.connectTimeoutMs ?? 10_000,
      socketTimeout: opts.idleTimeoutMs ?? 60_000,
    },
  });
  client.middlewareStack.add(payloadHashFromChecksum, { step: 'build', name: 'ebakPayloadHashFromChecksum' });
  return { client, region };
}

/** The uploads whose ChecksumSHA256 is the SHA-256 of the request body. */
const BODY_CHECKSUMMED = new Set(['PutObjectCommand', 'UploadPartCommand']);

/**
 * SigV4 signs a hash of the payload (x-amz-content-sha256); the SDK's signer
 * hashes a Buffer body for it unless the header is set already. An upload
 * here always carries the body's SHA-256 (x-amz-checksum-sha256, base64;
 * for a pack, its id), so the header is that digest in hex: a 16 MiB pack was
 * hashed twice more on the main thread (the backend, then the signer) after
 * its id had been; saving 256 MiB of packs to s3rver took 0.96-1.06 s of
 * client CPU with the two passes, 0.39-0.48 s without (docs/benchmarks.md, s3perf3). The payload stays signed
 * and S3 checks both headers against the bytes it receives; minio-go (restic's
 * client) sends UNSIGNED-PAYLOAD over TLS instead, which this does not need.
 */
const payloadHashFromChecksum: BuildMiddleware<object, MetadataBearer> = (next, context) => (args) => {
  const sum = (args.input as { ChecksumSHA256?: unknown }).ChecksumSHA256;
  const request = args.request as { headers?: Record<string, string> };
  if (BODY_CHECKSUMMED.has(context.commandName ?? '') && typeof sum === 'string' && request.headers)
    request.headers['x-amz-content-sha256'] = Buffer.from(sum, 'base64').toString('hex');
  return next(args);
};

/**
 * Node reads NODE_EXTRA_CA_CERTS once at start-up; AWS_CA_BUNDLE is the AWS
 * tools' convention that Node ignores. When either is given, the agent trusts
 * the public roots plus both files (an explicit CA list replaces Node's).
 * The list is given as one TLS context built once, not as the agent's `ca`
 * option: the agent keys its socket pool by a string that includes `ca`
 * (some 200 KB of PEM with the public roots), built on every request, and
 * each new connection parsed every certificate again; on a restore from
 * s3rver that was an eighth of the main thread's time.
 */
async function trustContext(files: readonly string[]): Promise<SecureContext | undefined> {
  if (files.length === 0) return undefined;
  const pems: string[] = [];
  for (const f of files) {
    try {
      pems.push(await readFile(f, 'utf8'));
    } catch (e) {
      throw new EbakError('USAGE', `cannot read CA bundle ${f}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e, hint: 'check AWS_CA_BUNDLE / NODE_EXTRA_CA_CERTS' });
    }
  }
  // Node's default store holds the public roots (and NODE_EXTRA_CA_CERTS's), parsed once a process;
  // addCACert gives this context a copy of it with the files' certificates added. The `ca` option
  // replaces that store, so the roots went in as PEM text ([...rootCertificates, ...pems]) and were
  // parsed again: 144 certificates, 22-47 ms before every S3 command's first request.
  const context = createSecureContext();
  for (const pem of pems) context.context.addCACert(pem);
  return context;
}
