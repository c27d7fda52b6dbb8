/** Runs the real CLI (bin/ebak) as a child process, in throwaway directories. */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chown, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';
import type { ErrorCode } from '../../src/errors.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = join(ROOT, 'bin/ebak');

/**
 * Every run's environment before the test's own: no local metadata cache
 * unless a test turns it on (EBAK_NO_CACHE: ''), so runs write nothing to
 * the user's ~/.cache and read every object from the repository; and a
 * token Argon2id cost for new password key files (EBAK_TEST_FAST_KDF; the
 * suite starts the CLI ~1,500 times), which test/cli/kdf-cost.test.ts
 * checks is the only difference.
 */
const BASE_ENV = { PATH: process.env.PATH, HOME: process.env.HOME, EBAK_NO_CACHE: '1', EBAK_TEST_FAST_KDF: '1' };

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function ebak(args: string[], env: Record<string, string | undefined> = {}, opts: { cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      ...opts,
      env: { ...BASE_ENV, ...env } as NodeJS.ProcessEnv,
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
/** Runs bin/ebak and asserts it exits 0, naming the command and its stderr otherwise. */
export async function ebakOk(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const r = await ebak(args, env);
  assert.equal(r.code, 0, `ebak ${args.join(' ')}: ${r.stderr}`);
  return r;
}

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

/** The lines of an NDJSON output (`ls --json`, `diff --json`), each parsed. */
export function ndjson<T = Record<string, unknown>>(stdout: string): T[] {
  return stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as T);
}

/**
 * The summary of `backup --json`: its last line, after the restic-shaped
 * `status` lines a backup of more than a second prints (typed loosely, as
 * JSON.parse is: the callers name the fields they read).
 */
export function backupSummary(r: RunResult): any {
  const lines = ndjson(r.stdout);
  const last = lines.at(-1);
  assert.equal(last?.message_type, 'summary', `no summary line: ${r.stdout}\n${r.stderr}`);
  return last;
}

/** The node lines of `ls --json` (after its snapshot line). */
export function lsNodes(r: RunResult): { path: string; type: string; struct_type: string }[] {
  return ndjson<{ path: string; type: string; struct_type: string }>(r.stdout).filter((e) => e.struct_type === 'node');
}

/** Asserts one error line (plus an optional hint line) on stderr. */
export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('ebak: '));
}

// ---- Shared by the tamper, errors, malicious and crash tests. ----

/** Starts the CLI without waiting, optionally under a wrapper command (setpriv, …); the child can be killed. */
export function startEbak(args: string[], env: Record<string, string | undefined> = {}, prefix: string[] = []): { child: ChildProcess; done: Promise<RunResult> } {
  const [cmd, ...pre] = prefix.length ? prefix : [process.execPath];
  const argv = prefix.length ? [...pre, process.execPath, BIN, ...args] : [BIN, ...args];
  const child = spawn(cmd!, argv, { env: { ...BASE_ENV, ...env } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<RunResult>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => res({ code: code ?? (signal ? -1 : -2), stdout, stderr }));
  });
  return { child, done };
}

/** Flips the lowest bit of the byte at `offset` (negative: from the end). */
export async function flipBit(path: string, offset: number): Promise<void> {
  const b = await readFile(path);
  b[offset < 0 ? b.length + offset : offset]! ^= 1;
  await writeFile(path, b);
}

/** Full paths of every object of one kind in a local repository ("data" looks into its subfolders). */
export async function repoFiles(repo: string, type: 'data' | 'index' | 'snapshots' | 'keys' | 'locks' | 'retention'): Promise<string[]> {
  const dirs = type === 'data' ? (await readdir(join(repo, 'data'))).map((d) => join(repo, 'data', d)) : [join(repo, type)];
  const out: string[] = [];
  for (const d of dirs) for (const n of await readdir(d)) if (!n.includes('.tmp-')) out.push(join(d, n));
  return out.sort();
}

/** Pack kind from the pack's clear prefix: 0 data, 1 tree. */
export async function packKind(path: string): Promise<number> {
  return (await readFile(path))[6]!;
}

/**
 * Asserts a failed command: the exit code (README "Exit codes"), exactly one
 * `ebak: ` line, and no internal error leaking through. `names` is for what
 * the line must name (a file, a pid, a flag), never for telling error kinds
 * apart: the exit code and the --json `code` (assertCode) do that.
 */
export function assertFailed(r: RunResult, exit: number, names?: string): void {
  const ctx = `stdout: ${r.stdout}\nstderr: ${r.stderr}`;
  assert.equal(r.code, exit, ctx);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, ctx);
  if (names !== undefined) assert.ok(lines[0]!.includes(names), `error line should name ${names}: ${ctx}`);
  assert.ok(!/unexpected error|TypeError|RangeError|at .*\.js:\d+/.test(r.stderr), ctx);
}

/** The --json error object on stderr (one JSON line). */
export function jsonError(r: RunResult): { code: string; message: string } {
  const lines = r.stderr.trim().split('\n').filter((l) => l.startsWith('{'));
  assert.equal(lines.length, 1, r.stderr);
  return (JSON.parse(lines[0]!) as { error: { code: string; message: string } }).error;
}

/** Asserts a failed --json command: the exit code, and the error `code` (src/errors.ts). */
export function assertCode(r: RunResult, exit: number, code: ErrorCode): void {
  assert.equal(r.code, exit, r.stderr);
  assert.equal(jsonError(r).code, code);
}

/** Relative path → sha256 of every regular file (symlinks as "-> target") under `root`. */
export async function fileDigests(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(join(root, rel))).sort()) {
    const p = join(rel, name);
    const st = await lstat(join(root, p));
    if (st.isDirectory()) for (const [k, v] of await fileDigests(root, p)) out.set(k, v);
    else if (st.isSymbolicLink()) out.set(p, `-> ${await readlink(join(root, p))}`);
    else out.set(p, createHash('sha256').update(await readFile(join(root, p))).digest('hex'));
  }
  return out;
}

/** Copies a whole directory tree (a pristine repository, for one tamper case). */
export function copyTree(from: string, to: string): Promise<void> {
  return cp(from, to, { recursive: true, verbatimSymlinks: true });
}

/** The uid and gid of `nobody`, for restores that must behave as an unprivileged user's. */
export const NOBODY = 65534;

/**
 * Restores the latest snapshot as `nobody` (setpriv) into `<dir>/out-nobody`: the repository is lent
 * to nobody for the run and given back to root after. Returns the result and the target.
 */
export async function restoreAsNobody(env: Record<string, string>, dir: string): Promise<{ r: RunResult; target: string }> {
  const repo = env.EBAK_REPOSITORY!;
  execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, repo]);
  const home = join(dir, 'home');
  const target = join(dir, 'out-nobody');
  for (const d of [home, target]) {
    await mkdir(d);
    await chown(d, NOBODY, NOBODY);
  }
  const asNobody = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'];
  const r = await startEbak(['restore', 'latest', '--target', target], { ...env, HOME: home }, asNobody).done;
  execFileSync('chown', ['-R', '0:0', repo]);
  return { r, target };
}

const KILLER = join(ROOT, 'dist/test/cli/head-killer.js');

/** Runs the CLI under head-killer.ts, which SIGKILLs itself at `point`. */
export function killAt(point: 'flush' | 'removed', args: string[], env: Record<string, string>): Promise<{ signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [KILLER, point, ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, EBAK_NO_CACHE: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (_code, signal) => resolve({ signal, stderr }));
  });
}
