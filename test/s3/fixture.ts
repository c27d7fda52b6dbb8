/**
 * test/s3 owns the repository-level S3 tests: every CLI command run as a
 * child process (bin/ebak) against s3rver over HTTPS, through the recording,
 * fault-injecting proxy of test/storage. This file is their shared fixture:
 * the server and proxy, the environment a CLI run needs, a direct S3 client
 * (to look at or damage objects behind ebak's back), and a reading of the
 * proxy's record by object kind and S3 billing class.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { requestClass } from '../../src/storage/s3/index.js';
import { ebak, type RunResult } from '../cli/harness.js';
import { S3Proxy, type Recorded } from '../storage/proxy.js';
import { S3RVER_ENV, startS3rver, type S3rver } from '../storage/s3server.js';

/** s3rver accepts any secret for its access key, so every run uses one we can grep for. */
export const SECRET = `ebak-s3-secret-${randomBytes(12).toString('hex')}`;

export interface S3Fixture {
  readonly server: S3rver;
  readonly proxy: S3Proxy;
  /** Straight to s3rver, not through the proxy, with s3rver's own credentials. */
  readonly client: S3Client;
  /** Every CLI run so far, for the credential grep. */
  readonly runs: RunResult[];
  /** Environment for a repository at `bucket/prefix`, through the proxy unless `direct`. */
  env(bucket: string, extra?: Record<string, string>, direct?: boolean): Record<string, string>;
  /** Runs bin/ebak and remembers the result. */
  run(args: string[], env: Record<string, string>): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startFixture(): Promise<S3Fixture> {
  // As ebak's own S3 client does (src/storage/s3.ts): the SDK's Node-version notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const server = await startS3rver();
  const proxy = await S3Proxy.start(server);
  const client = new S3Client({
    endpoint: server.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: S3RVER_ENV.AWS_SECRET_ACCESS_KEY },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpsAgent: new Agent({ ca: server.tls.cert, keepAlive: true }) },
  });
  const runs: RunResult[] = [];
  return {
    server,
    proxy,
    client,
    runs,
    env: (path, extra = {}, direct = false) => ({
      EBAK_REPOSITORY: `s3:${direct ? server.endpoint : proxy.endpoint}/${path}`,
      AWS_ACCESS_KEY_ID: S3RVER_ENV.AWS_ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET,
      NODE_EXTRA_CA_CERTS: server.tls.certFile,
      ...extra,
    }),
    async run(args, env) {
      const r = await ebak(args, env);
      runs.push(r);
      return r;
    },
    async stop() {
      client.destroy();
      await proxy.close();
      await server.stop();
    },
  };
}

/** Creates a repository (recovery key only: no Argon2 per command) and returns the env that opens it. */
export async function initRepo(fx: S3Fixture, dir: string, path: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  const env = fx.env(path, extra);
  const r = await fx.run(['init', '--json'], env);
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  const keyFile = join(dir, `${path.replace(/\W/g, '_')}.key`);
  await writeFile(keyFile, (JSON.parse(r.stdout) as { recovery_key: string }).recovery_key + '\n');
  return { ...env, EBAK_RECOVERY_KEY_FILE: keyFile };
}

/** A small mixed source tree: incompressible, compressible, empty, nested, a symlink. */
export async function makeSource(dir: string, bigBytes = 3 << 20): Promise<string> {
  const src = join(dir, 'src');
  await mkdir(join(src, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(src, 'random.bin'), randomBytes(bigBytes));
  await writeFile(join(src, 'sub', 'text.txt'), 'the same line of text again\n'.repeat(40_000));
  await writeFile(join(src, 'sub', 'deeper', 'empty'), '');
  await writeFile(join(src, 'sub', 'deeper', 'small.json'), JSON.stringify({ n: randomBytes(8).toString('hex') }));
  await symlink('sub/text.txt', join(src, 'link'));
  return src;
}

export type ObjectKind = 'config' | 'keys' | 'snapshots' | 'index' | 'data' | 'locks' | 'bucket';

/** One proxied request, read: billing class, what kind of object, which key. */
export interface Classified {
  readonly rec: Recorded;
  readonly cls: 'put' | 'get' | 'list' | 'delete' | 'head';
  readonly kind: ObjectKind;
  /** Object key inside the bucket ("" for bucket-level requests and listings). */
  readonly key: string;
  readonly storageClass: string | undefined;
}

export function classify(rec: Recorded): Classified {
  const u = new URL(rec.url, 'https://x');
  const query = Object.fromEntries(u.searchParams);
  const [, , ...rest] = decodeURIComponent(u.pathname).split('/');
  const key = rest.join('/');
  const listed = query.prefix ?? '';
  const parts = (key || listed).split('/');
  const kind = (parts.find((p) => ['config', 'keys', 'snapshots', 'index', 'data', 'locks'].includes(p)) ?? 'bucket') as ObjectKind;
  const sc = rec.headers['x-amz-storage-class'];
  return { rec, cls: requestClass({ method: rec.method, query }), kind, key, storageClass: Array.isArray(sc) ? sc[0] : sc };
}

/** Requests per billing class, as the proxy saw them. */
export function countByClass(recs: readonly Recorded[]): Record<Classified['cls'], number> {
  const out = { put: 0, get: 0, list: 0, delete: 0, head: 0 };
  for (const r of recs) out[classify(r).cls]++;
  return out;
}

/** Every object key under `prefix` in `bucket`, straight from s3rver. */
export async function listKeys(fx: S3Fixture, bucket: string, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await fx.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of r.Contents ?? []) keys.push(o.Key!);
    token = r.IsTruncated ? r.NextContinuationToken : undefined;
  } while (token);
  return keys.sort();
}

export async function getObject(fx: S3Fixture, bucket: string, key: string): Promise<Buffer> {
  const r = await fx.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(await r.Body!.transformToByteArray());
}

export async function putObject(fx: S3Fixture, bucket: string, key: string, body: Buffer): Promise<void> {
  await fx.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length }));
}

export async function deleteObject(fx: S3Fixture, bucket: string, key: string): Promise<void> {
  await fx.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}

export async function storedClass(fx: S3Fixture, bucket: string, key: string): Promise<string> {
  return (await fx.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).StorageClass ?? 'STANDARD';
}

/** Pack kind from the pack's clear prefix (docs/format.md): 0 data, 1 tree. */
export async function packKindOf(fx: S3Fixture, bucket: string, key: string): Promise<'data' | 'tree'> {
  return (await getObject(fx, bucket, key))[6] === 0 ? 'data' : 'tree';
}
