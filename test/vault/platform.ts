/**
 * Test helper: the simulated platform a `vault serve` process needs, through
 * the real CLI — a dev CA (the Nitro hypervisor) and a key service (AWS KMS)
 * holding a key whose policy releases secrets to this build's PCRs — each in
 * its own directory, plus a throwaway PostgreSQL server for replica tests.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ebak } from '../cli/harness.js';
import { startServer, type Server } from '../cli/server.js';

export interface Platform {
  /** The dev CA root clients and the key service pin. */
  root: string;
  devca: string;
  /** `vault serve` flags naming the key service and its key. */
  kmsFlags: string[];
  /** The key service's API credentials (the host holds them). */
  credentials: Record<string, string>;
  keyService: Server;
}

export async function startPlatform(dir: string): Promise<Platform> {
  const credentials = { AWS_ACCESS_KEY_ID: 'AKIAEBAKCLITEST00001', AWS_SECRET_ACCESS_KEY: 'cli-test-secret' };
  const policy = await ebak(['vault', 'measure', '--key-policy', '--json'], {});
  assert.equal(policy.code, 0, policy.stderr);
  await writeFile(join(dir, 'key-policy.json'), policy.stdout);
  const key = await ebak(['keyservice', 'create-key', '--dir', join(dir, 'kms'), '--policy', join(dir, 'key-policy.json'), '--json'], credentials);
  assert.equal(key.code, 0, key.stderr);
  const devca = join(dir, 'devca');
  const ca = await ebak(['vault', 'devca', '--devca', devca], {});
  assert.equal(ca.code, 0, ca.stderr);
  const root = join(devca, 'root.pem');
  const keyService = await startServer(['keyservice', 'serve', '--dir', join(dir, 'kms'), '--listen', '127.0.0.1:0', '--root', root], credentials);
  const keyId = (JSON.parse(key.stdout) as { KeyId: string }).KeyId;
  return { root, devca, credentials, keyService, kmsFlags: ['--kms-endpoint', keyService.url, '--kms-key-id', keyId, '--kms-ca', join(dir, 'kms', 'tls', 'cert.pem')] };
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A throwaway PostgreSQL server (initdb refuses root, so it runs as postgres). */
export function startPostgres(): { url: string; stop: () => void } {
  const port = 55400 + (process.pid % 500);
  const d = mkdtempSync(join(tmpdir(), 'ebak-pg-'));
  mkdirSync(join(d, 'sock'));
  const pgUser = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const pgGroup = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  for (const p of [d, join(d, 'sock')]) chownSync(p, pgUser, pgGroup);
  const as = (args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', ...args], { cwd: '/tmp', stdio: 'ignore' });
  as([`${PG_BIN}/initdb`, '-D', join(d, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  as([`${PG_BIN}/pg_ctl`, '-D', join(d, 'data'), '-l', join(d, 'server.log'), '-w', '-o', `-p ${port} -k ${join(d, 'sock')} -c listen_addresses=127.0.0.1 -c fsync=on`, 'start']);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      as([`${PG_BIN}/pg_ctl`, '-D', join(d, 'data'), '-m', 'fast', '-w', 'stop']);
      rmSync(d, { recursive: true, force: true });
    },
  };
}
