/**
 * The dependency direction of src/, checked. Every import between two
 * top-level modules (a folder of src/, or errors.ts / version.ts) must follow
 * an edge of LAYERS, directly or through lower layers; README "Layout of the
 * code" draws the same picture. Today's known exceptions are listed in
 * EXCEPTIONS, each with the reason and the change that removes it; an
 * exception that no longer occurs fails too, so the list only shrinks.
 *
 * Within and across modules, no file imports itself through others (a
 * cycle of files, type-only and lazy imports counted: each says the two
 * halves are one piece, or that a shared piece sits in the wrong file);
 * KNOWN_CYCLES lists the ones still there, which likewise only shrinks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { filesUnder, importsOf, resolveImport, ROOT } from './imports.js';

const SRC = join(ROOT, 'src');
const sourceFiles = () => filesUnder(SRC);

/** Module → the modules directly below it. A module may import anything reachable from it. */
const LAYERS: Record<string, readonly string[]> = {
  cli: ['plans', 'operations', 'keys', 'archiver', 'restorer', 'checker', 'walker', 'vault', 'config'],
  // Backup plans and the daemon (#18): schedules and plan files over the operations they run.
  plans: ['operations'],
  config: ['storage'],
  operations: ['archiver', 'restorer', 'checker', 'walker', 'retention'],
  // Issue 13's key custody (identities over key files and vault device sessions) and forget's policy, on their branches.
  keys: ['repository', 'vault'],
  retention: ['util'],
  archiver: ['walker'],
  restorer: ['walker'],
  checker: ['walker'],
  walker: ['repository'],
  repository: ['storage', 'crypto', 'compress', 'chunker'],
  storage: ['util'],
  crypto: ['util'],
  compress: ['util'],
  chunker: ['util'],
  // The vault decides deletion by the same retention rules the client applies (src/retention/lock.ts, pure).
  vault: ['hsm', 'attestation', 'kms', 'crypto', 'retention'],
  kms: ['attestation'],
  hsm: ['crypto'],
  attestation: ['util'],
  util: ['errors', 'version'],
  errors: [],
  version: [],
};

/** Imports against the direction that today's code still has (file → imported file, both under src/). */
const EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [
  { from: 'vault/client/device.ts', to: 'storage/backend.ts', why: 'the vault client reads the stored config object through a Backend to name the account (a config-bytes parameter removes it)' },
  { from: 'vault/client/devicefile.ts', to: 'storage/backend.ts', why: 'the same read, split from the vault client so a command finds its device file without loading OPAQUE and attested TLS' },
];

/** Cycles of files still there (each as its files, sorted), with the reason and the change that removes it. */
const KNOWN_CYCLES: readonly { files: readonly string[]; why: string }[] = [
  { files: ['restorer/index.ts', 'restorer/restorer.ts'], why: 'restorer.ts takes the option and result types from the folder entry that runs it; they move to their own file when the restorer is split (another change owns src/restorer now)' },
];

/** Every module reachable from `m` through LAYERS (its own folder included). */
function reachable(m: string): Set<string> {
  const seen = new Set<string>([m]);
  const todo = [m];
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    for (const below of LAYERS[next] ?? []) if (!seen.has(below)) todo.push(below), seen.add(below);
  }
  return seen;
}

/** 'cli' for src/cli/main.ts, 'errors' for src/errors.ts. */
function moduleOf(rel: string): string {
  const [first, ...rest] = rel.split('/');
  return rest.length === 0 ? first!.replace(/\.ts$/, '') : first!;
}

interface Edge { from: string; to: string }

/** Every relative import in src/, as paths relative to src/ (the .js of a specifier read as its .ts). */
function edges(): Edge[] {
  return sourceFiles().flatMap((file) =>
    importsOf(readFileSync(file, 'utf8'))
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => ({ from: relative(SRC, file), to: relative(SRC, resolveImport(file, spec)) })));
}

/** The strongly connected sets of two or more files (Tarjan's algorithm), each sorted. */
function fileCycles(all: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of all) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) visit(w), low.set(v, Math.min(low.get(v)!, low.get(w)!));
      else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const set = stack.splice(stack.indexOf(v));
    if (set.length > 1) cycles.push(set.sort());
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return cycles;
}

const isException = (e: Edge) => EXCEPTIONS.some((x) => x.from === e.from && x.to === e.to);

describe('dependency direction (README "Layout of the code")', () => {
  const all = edges();

  it('reads every import of every source file', () => {
    assert.ok(sourceFiles().length > 100, 'the source tree was found');
    assert.ok(all.length > 500, `only ${all.length} relative imports parsed`);
    assert.deepEqual(importsOf("import a from './a.js';\nexport { b } from '../b.js';\nimport type {\n  C,\n} from './c.js';\nimport './d.js';\nconst e = await import('./e.js');\n * import x from './comment.js'"), ['./a.js', '../b.js', './c.js', './d.js', './e.js']);
  });

  it('every module of src/ has a place in the table', () => {
    const modules = new Set(sourceFiles().map((f) => moduleOf(relative(SRC, f))));
    for (const m of modules) assert.ok(m in LAYERS, `src/${m} is not in LAYERS: declare what it may import`);
  });

  it('the table points one way (no cycles)', () => {
    for (const m of Object.keys(LAYERS)) for (const below of LAYERS[m]!) assert.ok(!reachable(below).has(m), `${m} → ${below} closes a cycle`);
  });

  it('nothing imports cli; storage imports neither repository nor vault', () => {
    for (const m of Object.keys(LAYERS)) if (m !== 'cli') assert.ok(!reachable(m).has('cli'), `${m} may reach cli`);
    for (const m of ['repository', 'vault']) assert.ok(!reachable('storage').has(m), `storage may reach ${m}`);
  });

  it('every import follows the table, or is a listed exception', () => {
    const against = all.filter((e) => !reachable(moduleOf(e.from)).has(moduleOf(e.to)) && !isException(e));
    assert.deepEqual(against.map((e) => `src/${e.from} imports src/${e.to}`), []);
  });

  it('every listed exception still occurs (remove it when the code is fixed)', () => {
    for (const x of EXCEPTIONS) assert.ok(all.some((e) => e.from === x.from && e.to === x.to), `src/${x.from} no longer imports src/${x.to} (${x.why}): remove the exception`);
  });

  it('no file imports itself through others (no cycle of files), but the known ones', () => {
    const found = fileCycles(all).map((c) => c.join(' → '));
    assert.deepEqual(found.filter((c) => !KNOWN_CYCLES.some((k) => k.files.join(' → ') === c)), []);
    for (const k of KNOWN_CYCLES) assert.ok(found.includes(k.files.join(' → ')), `${k.files.join(' ↔ ')} is no longer a cycle (${k.why}): remove it from KNOWN_CYCLES`);
    assert.deepEqual(fileCycles([{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'c', to: 'a' }, { from: 'c', to: 'd' }]), [['a', 'b', 'c']], 'the check finds a cycle');
  });
});
