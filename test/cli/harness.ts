/** Runs the real CLI (bin/ebak) as a child process, in throwaway directories. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = join(ROOT, 'bin/ebak');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function ebak(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
  });
}

/** A fresh temporary directory, removed when the test file ends. */
export async function tempDir(prefix = 'ebak-test-'): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  after(() => rm(d, { recursive: true, force: true }));
  return d;
}

/** Creates a password-protected repository; returns its env and the recovery key. */
export async function newRepo(dir: string, password = 'correct horse'): Promise<{ env: Record<string, string>; recoveryKey: string }> {
  const env = { EBAK_REPOSITORY: join(dir, 'repo'), EBAK_PASSWORD: password };
  const r = await ebak(['init', '--json'], env);
  if (r.code !== 0) throw new Error(`init failed: ${r.stderr}`);
  return { env, recoveryKey: (JSON.parse(r.stdout) as { recovery_key: string }).recovery_key };
}

/** Asserts one error line (plus an optional hint line) on stderr. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('ebak: '));
}
