/** Reads a TypeScript file's imports as text, for the structure tests (no compiler needed). */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout (this file runs from dist/test/structure/). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Specifiers of `import … from`, `export … from`, `import '…'` and `import('…')`; statements start a line, so doc comments never match. */
export function importsOf(text: string): string[] {
  const statements = /^\s*(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
  return [...text.matchAll(statements)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** Every file under `dir` whose name ends with `suffix`, as full paths. */
export function filesUnder(dir: string, suffix = '.ts'): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? filesUnder(join(dir, d.name), suffix) : d.name.endsWith(suffix) ? [join(dir, d.name)] : []);
}

/** The .ts file a relative specifier of `from` names (`./a.js` → `<dir>/a.ts`). */
export function resolveImport(from: string, spec: string): string {
  return resolve(dirname(from), spec).replace(/\.js$/, '.ts');
}
