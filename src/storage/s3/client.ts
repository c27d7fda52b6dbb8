/**
 * Building the AWS SDK client of the S3 backend from typed options and the
 * AWS tools' own variables (the caller passes them in; nothing here reads
 * `process.env` or any EBAK_* variable).
 *
 * The SDK's retries are off (maxAttempts 1: retry.ts retries, and the two
 * would multiply), and its checksum machinery is set to WHEN_REQUIRED: with
 * its defaults it sends aws-chunked streams, which some S3-compatible
 * servers store verbatim (the backend sends x-amz-checksum-sha256 itself).
 */
import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import { S3Client } from '@aws-sdk/client-s3';
import { EbakError } from '../../errors.js';
import type { S3Location } from '../location.js';

/** The AWS tools' variables the client honours, as the caller found them. */
export interface AwsEnv {
  readonly AWS_ACCESS_KEY_ID?: string;
  readonly AWS_SECRET_ACCESS_KEY?: string;
  readonly AWS_SESSION_TOKEN?: string;
  readonly AWS_PROFILE?: string;
  readonly AWS_REGION?: string;
  readonly AWS_DEFAULT_REGION?: string;
  readonly AWS_CA_BUNDLE?: string;
  readonly NODE_EXTRA_CA_CERTS?: string;
}

export interface ClientOptions {
  /** Abandon a connection attempt after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Abandon a request whose socket stays idle this long (default 60 s). */
  readonly idleTimeoutMs?: number;
}

/**
 * Credentials from the variables when both are set, otherwise the SDK's
 * standard chain (AWS_PROFILE, SSO, instance roles); region from
 * AWS_REGION/AWS_DEFAULT_REGION, us-east-1 for custom endpoints, else the
 * profile's (`region` undefined).
 */
export async function createClient(loc: S3Location, env: AwsEnv, opts: ClientOptions = {}): Promise<{ client: S3Client; region: string | undefined }> {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (loc.endpoint !== undefined ? 'us-east-1' : undefined);
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN || undefined }
      : undefined;
  const ca = await extraCas(env);
  const client = new S3Client({
    region,
    endpoint: loc.endpoint,
    forcePathStyle: loc.endpoint !== undefined,
    followRegionRedirects: loc.endpoint === undefined,
    credentials,
    profile: env.AWS_PROFILE || undefined,
    maxAttempts: 1,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: {
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64, ...(ca ? { ca } : {}) }),
      httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
      connectionTimeout: opts.connectTimeoutMs ?? 10_000,
      socketTimeout: opts.idleTimeoutMs ?? 60_000,
    },
  });
  return { client, region };
}

/**
 * Node reads NODE_EXTRA_CA_CERTS once at start-up; AWS_CA_BUNDLE is the AWS
 * tools' convention that Node ignores. When either is given, the agent trusts
 * the public roots plus both files (an explicit `ca` replaces Node's list).
 */
async function extraCas(env: AwsEnv): Promise<string[] | undefined> {
  const files = [env.AWS_CA_BUNDLE, env.NODE_EXTRA_CA_CERTS].filter((f): f is string => !!f);
  if (files.length === 0) return undefined;
  const pems: string[] = [];
  for (const f of files) {
    try {
      pems.push(await readFile(f, 'utf8'));
    } catch (e) {
      throw new EbakError('USAGE', `cannot read CA bundle ${f}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e, hint: 'check AWS_CA_BUNDLE / NODE_EXTRA_CA_CERTS' });
    }
  }
  return [...rootCertificates, ...pems];
}
