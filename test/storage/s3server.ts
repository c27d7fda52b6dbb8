/**
 * Test helper: a throwaway s3rver over HTTPS on 127.0.0.1 (random port,
 * temp directory, self-signed certificate made by the openssl CLI). Run under
 * --openssl-legacy-provider: without it s3rver answers 500 to ListObjectsV2
 * past 1,000 keys (its continuation token uses DES).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

export interface TestCert {
  readonly keyFile: string;
  readonly certFile: string;
  readonly key: string;
  readonly cert: string;
}

export interface S3rver {
  readonly endpoint: string;
  readonly port: number;
  readonly tls: TestCert;
  readonly dir: string;
  stop(): Promise<void>;
}

/** s3rver's built-in account. */
export const S3RVER_ENV = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' } as const;

export async function makeCert(dir: string, name = 'tls'): Promise<TestCert> {
  const keyFile = join(dir, `${name}-key.pem`);
  const certFile = join(dir, `${name}-cert.pem`);
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2',
    '-keyout', keyFile, '-out', certFile,
  ]);
  return { keyFile, certFile, key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
}

export async function startS3rver(): Promise<S3rver> {
  const dir = await mkdtemp(join(tmpdir(), 'ebak-s3rver-'));
  const tls = await makeCert(dir);
  const bin = join(dirname(createRequire(import.meta.url).resolve('s3rver/package.json')), 'bin', 's3rver.js');
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', bin, '-d', join(dir, 'data'), '-a', '127.0.0.1', '-p', '0', '--silent', '--key', tls.keyFile, '--cert', tls.certFile],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const port = await listeningPort(child);
  return {
    endpoint: `https://127.0.0.1:${port}`,
    port,
    tls,
    dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function listeningPort(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => fail(new Error('s3rver did not start within 20 s')), 20_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      reject(e);
    };
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on [^:]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('exit', (code) => fail(new Error(`s3rver exited with ${code}: ${err}`)));
  });
}
