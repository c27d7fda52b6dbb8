/**
 * The real-file corpus: files nobody here wrote, the machine's own system
 * trees (/usr/share/doc and /usr/lib/x86_64-linux-gnu, about 800 MB), copied
 * once into BENCH_DIR/real/corpus so that later runs (and package upgrades)
 * do not change it under the benchmark. BENCH_SCALE takes a deterministic
 * share: files in sorted path order, each tree up to scale × its size.
 * Regular files only (links and special files are left out, so the restore
 * check compares bytes, not link targets).
 */
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { Corpus } from './corpus.js';
import { hashTree, manifestDigest } from './verify.js';

const SOURCES = ['/usr/share/doc', '/usr/lib/x86_64-linux-gnu'];

/** Regular files under `root`, sorted by path, with sizes; unreadable folders are skipped. */
function regularFiles(root: string): { path: string; size: number }[] {
  const out: { path: string; size: number }[] = [];
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.push({ path: p, size: st.size });
    }
  };
  walk(root);
  return out;
}

/** Copies scale × each source tree (by bytes, in path order) under `dest`; returns what each contributed. */
function copyShare(dest: string, scale: number): Corpus['composition'] {
  const composition: Record<string, { files: number; bytes: number }> = {};
  for (const src of SOURCES) {
    const files = regularFiles(src);
    const budget = scale * files.reduce((n, f) => n + f.size, 0);
    let files_ = 0;
    let bytes = 0;
    for (const f of files) {
      if (bytes + f.size > budget) break;
      const to = join(dest, src.slice(1), relative(src, f.path));
      mkdirSync(dirname(to), { recursive: true });
      try {
        copyFileSync(f.path, to);
      } catch {
        continue; // unreadable to this user: not part of the corpus
      }
      files_++;
      bytes += f.size;
    }
    composition[src] = { files: files_, bytes };
  }
  return composition;
}

/** The real-file corpus at BENCH_DIR/real/corpus, made once per scale and reused after. */
export async function ensureRealCorpus(benchDir: string, scale: number, log: (s: string) => void): Promise<Corpus> {
  const root = join(benchDir, 'real');
  const dir = join(root, 'corpus');
  const meta = join(root, 'corpus.json');
  if (existsSync(meta)) {
    const old = JSON.parse(readFileSync(meta, 'utf8')) as Corpus;
    if (old.scale === scale && existsSync(dir)) {
      log(`real corpus: reusing ${dir} (${old.files} files, ${old.bytes} bytes)`);
      return old;
    }
  }
  rmSync(root, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`real corpus: copying ${Math.round(scale * 100)} % of ${SOURCES.join(' and ')} to ${dir} ...`);
  const composition = copyShare(dir, scale);
  const { entries } = await hashTree(dir);
  const corpus: Corpus = {
    generator: 0, seed: `system files: ${SOURCES.join(', ')}`, scale, dir, entries, composition,
    files: entries.length, bytes: entries.reduce((n, e) => n + e.size, 0), digest: manifestDigest(entries),
  };
  writeFileSync(meta, JSON.stringify(corpus));
  log(`real corpus: ${corpus.files} files, ${corpus.bytes} bytes`);
  return corpus;
}
