/**
 * Test helper: the simulated platform a `vault serve` process needs, through
 * the real CLI — a dev CA (the Nitro hypervisor) and a key service (AWS KMS)
 * holding a key whose policy releases secrets to this build's PCRs — each in
 * its own directory; a `vault serve` process on it with an operator key and
 * an invitation (startCliVault); plus a throwaway PostgreSQL server for replica tests.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { PIN, softhsm, type SoftHsm } from '../hsm/softhsm.js';
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

export interface CliVault {
  url: string;
  /** The dev CA root its clients pin. */
  root: string;
  /** What the vault's own CLI calls need: the SoftHSM token (made by the caller with softhsm(['vault'])). */
  hsmEnv: Record<string, string>;
  /** An invitation to register with (`uses` of them; the CLI's default without). */
  invite: string;
  /** Stops the vault, then its key service. */
  stop: () => Promise<void>;
}

/** More `vault serve` flags, or what makes them once the platform runs (a secret provisioned under its key, say). */
export type ServeArgs = readonly string[] | ((platform: Platform) => Promise<readonly string[]>);

/** A `vault serve` process (simulated mode, SoftHSM token "vault") on a fresh platform under `dir`, with an operator key and an invitation; `serveArgs`: more flags. */
export async function startCliVault(dir: string, uses?: number, serveArgs: ServeArgs = []): Promise<CliVault> {
  const platform = await startPlatform(dir);
  // A failure before the vault runs stops the key service too: a suite whose `before` failed must still end.
  const more = await Promise.resolve(typeof serveArgs === 'function' ? serveArgs(platform) : serveArgs).catch(async (e: unknown) => {
    await platform.keyService.stop();
    throw e;
  });
  const operatorKey = join(dir, 'operator.pem');
  assert.equal((await ebak(['vault', 'operator-key', '--out', operatorKey], {})).code, 0);
  const hsmEnv = { SOFTHSM2_CONF: process.env.SOFTHSM2_CONF!, EBAK_HSM_TOKEN: 'vault', EBAK_HSM_PIN: PIN };
  const vault = await startServer([
    'vault', 'serve', '--dir', join(dir, 'vault'), '--devca', platform.devca, '--listen', '127.0.0.1:0', ...platform.kmsFlags, '--operator-key', `${operatorKey}.pub`,
    // A CLI test runs many commands of one account within a minute: the default bucket (60, then 60 a minute) is
    // for users; the limits' own tests start vaults of their own (test/vault/surface.test.ts).
    '--rate-per-account', '100000', ...more,
  ], { ...hsmEnv, ...platform.credentials });
  const stop = async () => {
    await vault.stop();
    await platform.keyService.stop();
  };
  const inv = await ebak(['vault', 'invite', '--operator-key-file', operatorKey, ...(uses ? ['--uses', String(uses)] : []), '--json'], {});
  assert.equal(inv.code, 0, inv.stderr);
  return { url: vault.url, root: platform.root, hsmEnv, invite: (JSON.parse(inv.stdout) as { invite: string }).invite, stop };
}

/** What a CLI test file against one vault needs: set by the suite's `before` hook (cliVaultSuite). */
export interface CliVaultSuite {
  /** The suite's own temporary directory (removed after it). */
  readonly dir: string;
  readonly url: string;
  readonly invite: string;
  /** The environment every CLI run against the vault needs: its SoftHSM token and the attestation root. */
  readonly base: Record<string, string>;
  /** Registers a stop (an S3 fixture, a server) run after the tests, before the vault's own. */
  onStop(stop: () => Promise<unknown>): void;
}

/**
 * Registers hooks on the current suite: a temporary directory, a SoftHSM
 * token and `ebak vault serve` (startCliVault) before its tests; after
 * them, the stops it was given, the vault, the token and the directory.
 */
export function cliVaultSuite(prefix: string, uses?: number, serveArgs: ServeArgs = []): CliVaultSuite {
  const stops: (() => Promise<unknown>)[] = [];
  let token: SoftHsm | undefined;
  const v = { onStop: (stop: () => Promise<unknown>) => void stops.unshift(stop) } as { -readonly [K in keyof CliVaultSuite]: CliVaultSuite[K] };
  before(async () => {
    v.dir = mkdtempSync(join(tmpdir(), prefix));
    token = softhsm(['vault']);
    const vault = await startCliVault(v.dir, uses, serveArgs);
    stops.push(vault.stop);
    Object.assign(v, { url: vault.url, invite: vault.invite, base: { ...vault.hsmEnv, EBAK_VAULT_ROOT: vault.root } });
  });
  after(async () => {
    for (const stop of stops) await stop();
    token?.cleanup();
    if (v.dir) rmSync(v.dir, { recursive: true, force: true });
  });
  return v;
}

const PG_BIN = '/usr/lib/postgresql/15/bin';

/** A throwaway PostgreSQL server (initdb refuses root, so it runs as postgres). */
export function startPostgres(): { url: string; stop: () => void } {
  const d = mkdtempSync(join(tmpdir(), 'ebak-pg-'));
  mkdirSync(join(d, 'sock'));
  const pgUser = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const pgGroup = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  for (const p of [d, join(d, 'sock')]) chownSync(p, pgUser, pgGroup);
  const as = (args: string[]) => execFileSync('runuser', ['-u', 'postgres', '--', ...args], { cwd: '/tmp', stdio: 'ignore' });
  as([`${PG_BIN}/initdb`, '-D', join(d, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  const start = (port: number) => as([`${PG_BIN}/pg_ctl`, '-D', join(d, 'data'), '-l', join(d, 'server.log'), '-w', '-o', `-p ${port} -k ${join(d, 'sock')} -c listen_addresses=127.0.0.1 -c fsync=on`, 'start']);
  const port = firstThatStarts(start);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      as([`${PG_BIN}/pg_ctl`, '-D', join(d, 'data'), '-m', 'fast', '-w', 'stop']);
      rmSync(d, { recursive: true, force: true });
    },
  };
}

/**
 * A port for a test server that another may hold: below the kernel's
 * ephemeral range (32768+), where a client connection of a concurrent test
 * once took the port this process's pid picked, and tried in turn.
 */
function firstThatStarts(start: (port: number) => void): number {
  const first = 20_000 + ((process.pid * 37) % 10_000);
  for (let i = 0; ; i++) {
    const port = first + i;
    try {
      start(port);
      return port;
    } catch (e) {
      if (i === 9) throw e;
    }
  }
}
