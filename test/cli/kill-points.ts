/**
 * Shared by the kill -9 tests (prune-crash, rotate-crash): a process that
 * runs an operation on a real local backend whose save and remove are
 * wrapped to count, and SIGKILLs itself just before or just after its k-th
 * write or delete (`killAt`, in the killer); the test side starts such a
 * process and tells a kill from a run that ended (`runKiller`), and
 * shuffles the kill points by a printed seed (`shuffled`).
 */
import { spawn } from 'node:child_process';
import type { LocalBackend } from '../../src/storage/local.js';

export type When = 'before' | 'after';

/** Makes `backend` kill this process at its k-th save or remove (k = 0: never); returns a counter of them. */
export function killAt(backend: LocalBackend, k: number, when: When): () => number {
  let mutations = 0;
  async function step<T>(op: () => Promise<T>): Promise<T> {
    const n = ++mutations;
    if (when === 'before' && n === k) process.kill(process.pid, 'SIGKILL');
    const r = await op();
    if (when === 'after' && n === k) process.kill(process.pid, 'SIGKILL');
    return r;
  }
  const save = backend.save.bind(backend);
  const remove = backend.remove.bind(backend);
  backend.save = (h, data) => step(() => save(h, data));
  backend.remove = (h) => step(() => remove(h));
  return () => mutations;
}

/** Runs a killer script; returns how it ended: killed, or finished with what it printed. */
export function runKiller(script: string, args: string[]): Promise<{ killed: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve({ killed: true, stdout: out, stderr: err });
      else if (code === 0) resolve({ killed: false, stdout: out, stderr: err });
      else reject(new Error(`${script} failed on its own (exit ${code}): ${err}`));
    });
  });
}

export function shuffled<T>(items: readonly T[], rnd: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}
