/**
 * Extended attributes (ACLs and file capabilities are ones too) of files,
 * directories and symlinks, for the archiver and the restorer, through the one
 * binding installed (@napi-rs/xattr). What that binding does, measured and
 * read in its source (it wraps the Rust `xattr` crate):
 * - it takes a path as text and never follows a link at its last component
 *   (l*xattr): so a symlink's own attributes are read and set, never its
 *   target's (on Linux only trusted.* and security.* can be on a link, set
 *   by root: user.* cannot); and `/proc/self/fd/<fd>` of a file names the proc link itself
 *   (no attributes), but `/proc/self/fd/<dirfd>/<name>` and
 *   `/proc/self/fd/<dirfd>/.` name the entry in, or the directory behind, a
 *   descriptor held here (the magic link is followed as an inner component);
 * - attribute names are text: a file holding a name that is not UTF-8 cannot
 *   be listed at all (InvalidArg), and such a name cannot be set;
 * - a failed read of one value comes back as null, the errno hidden; other
 *   failures are errors whose message ends "(os error N)".
 * So a path that is not UTF-8 is reached through a descriptor of its
 * directory (or of the directory itself), and what cannot be read or set is
 * returned as problems (messages) for the caller to warn about or count;
 * nothing here throws. A file system without extended attributes (ENOTSUP)
 * simply has none.
 */
import { isUtf8 } from 'node:buffer';
import { closeSync, constants, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Binding from '@napi-rs/xattr';

let binding: typeof Binding | undefined;

/**
 * The binding, loaded at its first use: loading it costs a thread ~30 ms of CPU, and a restore's
 * blob workers load this module (they finish the files they write) for the few files that have
 * attributes, if any (docs/benchmarks.md, rperf5).
 */
function xattr(): typeof Binding {
  return (binding ??= createRequire(import.meta.url)('@napi-rs/xattr') as typeof Binding);
}

/** One attribute, name and value as bytes: the shape of the tree's Xattr (util imports nothing above it). */
export interface Xattr {
  name: Buffer;
  value: Buffer;
}

export interface XattrsRead {
  /** Sorted by name bytes. */
  xattrs: Xattr[];
  problems: string[];
}

const ENOTSUP = 95;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY;
const DOT = Buffer.from('.');

/** Every attribute of the file, directory or symlink at `path` (a link at `path` is never followed). */
export function readXattrs(path: Buffer, isDir: boolean): XattrsRead {
  const out: XattrsRead = { xattrs: [], problems: [] };
  const problem = atPath(path, isDir, (p) => {
    let names: string[];
    try {
      names = xattr().listAttributesSync(p);
    } catch (e) {
      if (errnoOf(e) !== ENOTSUP) out.problems.push(`${path}: extended attributes not read (${whyNot(e)})`);
      return;
    }
    for (const name of names) {
      const value = xattr().getAttributeSync(p, name);
      if (value) out.xattrs.push({ name: Buffer.from(name), value: Buffer.from(value) });
      else out.problems.push(`${path}: extended attribute ${name} not read (permission denied, or removed meanwhile)`);
    }
  });
  if (problem) out.problems.push(problem);
  out.xattrs.sort((a, b) => Buffer.compare(a.name, b.name));
  return out;
}

/**
 * Sets `xattrs` on the file, directory or symlink at `path` (never through the link); the problems, one per
 * attribute not set. `security.*` and `trusted.*` are set only by root (as
 * setuid bits are): anyone else skips them without a problem.
 */
export function writeXattrs(path: Buffer, isDir: boolean, xattrs: readonly Xattr[], asRoot: boolean): string[] {
  const wanted = xattrs.filter((x) => asRoot || !ROOT_ONLY.some((prefix) => x.name.subarray(0, prefix.length).equals(prefix)));
  if (wanted.length === 0) return [];
  const problems: string[] = [];
  const problem = atPath(path, isDir, (p) => {
    for (const x of wanted) {
      if (!isUtf8(x.name)) {
        problems.push(`${path}: extended attribute ${x.name.toString()} not set (its name is not UTF-8, which the xattr binding cannot carry)`);
        continue;
      }
      try {
        xattr().setAttributeSync(p, x.name.toString(), x.value);
      } catch (e) {
        problems.push(`${path}: extended attribute ${x.name.toString()} not set (${whyNot(e)})`);
      }
    }
  });
  return problem ? [problem] : problems;
}

const ROOT_ONLY = [Buffer.from('security.'), Buffer.from('trusted.')];

/** Two sorted attribute lists (absent = none) hold the same names and values. */
export function sameXattrs(a: readonly Xattr[] | undefined, b: readonly Xattr[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  return x.length === y.length && x.every((e, i) => e.name.equals(y[i]!.name) && e.value.equals(y[i]!.value));
}

/**
 * Runs `fn` with a text path the binding can take for `path`: the path
 * itself when it is UTF-8, else through a descriptor of the directory (a
 * directory's own, or a file's parent's when the file's name is UTF-8).
 * Returns a problem when there is no such path.
 */
function atPath(path: Buffer, isDir: boolean, fn: (p: string) => void): string | undefined {
  if (isUtf8(path)) {
    fn(path.toString());
    return undefined;
  }
  const slash = path.lastIndexOf('/');
  const [dir, rest] = isDir ? [path, DOT] : [path.subarray(0, Math.max(slash, 1)), path.subarray(slash + 1)];
  if (!isUtf8(rest)) return `${path}: extended attributes not handled (the xattr binding takes UTF-8 names only)`;
  let fd: number;
  try {
    fd = openSync(dir, DIR_FLAGS);
  } catch (e) {
    return `${path}: extended attributes not handled (${(e as Error).message})`;
  }
  try {
    fn(`/proc/self/fd/${fd}/${rest.toString()}`);
  } finally {
    closeSync(fd);
  }
  return undefined;
}

function errnoOf(e: unknown): number | undefined {
  const m = /\(os error (\d+)\)/.exec((e as Error).message);
  return m ? Number(m[1]) : undefined;
}

function whyNot(e: unknown): string {
  if ((e as { code?: string }).code === 'InvalidArg') return 'one has a name that is not UTF-8, which the xattr binding cannot carry';
  return (e as Error).message;
}
