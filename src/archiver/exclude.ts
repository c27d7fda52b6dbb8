/**
 * What a backup leaves out, as restic's reject functions decide it
 * (internal/archiver/exclude.go, internal/filter): by name before the lstat
 * (--exclude, --iexclude), by the lstat after it (--exclude-larger-than,
 * --one-file-system), and by a tag file in the directory
 * (--exclude-if-present, --exclude-caches). The walk (index.ts) and the
 * size scan (scan.ts) both ask this one Selection, so the progress total
 * counts what the backup reads.
 *
 * A tagged directory is kept with its tag file alone (restic keeps the tag
 * so the snapshot shows why the rest is missing). A directory on another
 * file system under -x is a mount point: kept, its contents not read.
 *
 * Patterns are lists (util/glob.ts): `!pattern` re-includes what an earlier
 * pattern left out (restic 0.17). A directory left out is not entered,
 * unless a `!pattern` could match below it: then it is entered and kept
 * only for the entries it holds that are re-included.
 */
import { closeSync, constants, lstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import { compileList, type PatternList } from '../util/glob.js';

/** The Cache Directory Tagging Specification's tag (https://bford.info/cachedir/), as restic's --exclude-caches gives it. */
export const CACHEDIR_TAG = 'CACHEDIR.TAG:Signature: 8a477f597d28d172789f06886806bc55';

export interface SelectOptions {
  /** Patterns (util/glob.ts), case-sensitive: --exclude and the lines of --exclude-file. */
  excludes?: readonly string[];
  /** Patterns matched ignoring case: --iexclude and the lines of --iexclude-file. */
  iexcludes?: readonly string[];
  /** FILE or FILE:HEADER: a directory holding FILE (starting with HEADER) keeps only FILE. */
  ifPresent?: readonly string[];
  /** Files (any entry but a directory) larger than this many bytes are left out. */
  largerThan?: number;
  /** Entries on another device than the directory holding them are left out; directories among them are kept empty. */
  oneFileSystem?: boolean;
}

/** After the lstat: leave the entry out, keep it, or keep a directory without reading it (a mount point). */
export type Verdict = 'skip' | 'keep' | 'mountpoint';

/** By name: leave the entry out, keep it, or (a directory a !pattern may reach into) enter it and keep only what it holds. */
export type NameVerdict = 'skip' | 'keep' | 'enter';

interface TagSpec {
  file: Buffer;
  header: Buffer;
}

export class Selection {
  private readonly excluded: PatternList;
  private readonly iexcluded: PatternList;
  private readonly tags: TagSpec[];

  constructor(private readonly opts: SelectOptions, private readonly warn: (msg: string) => void = () => undefined) {
    this.excluded = compileList(opts.excludes ?? []);
    this.iexcluded = compileList((opts.iexcludes ?? []).map((p) => p.toLowerCase()));
    this.tags = (opts.ifPresent ?? []).map(parseTagSpec);
  }

  /**
   * The verdict of the patterns on the absolute path (its bytes, matched as
   * text): either list leaving it out leaves it out (restic's reject
   * functions). Without patterns, every path is kept, its text never made.
   */
  byName(bytes: Buffer): NameVerdict {
    if (!this.opts.excludes?.length && !this.opts.iexcludes?.length) return 'keep';
    const path = bytes.toString();
    const lower = this.opts.iexcludes?.length ? path.toLowerCase() : '';
    const hits = [...(this.excluded.matches(path) ? [this.excluded.negationBelow(path)] : []), ...(lower && this.iexcluded.matches(lower) ? [this.iexcluded.negationBelow(lower)] : [])];
    if (hits.length === 0) return 'keep';
    return hits.every(Boolean) ? 'enter' : 'skip';
  }

  /** The verdict on an entry from its lstat; `parentDev` is the device of the directory holding it (none for a backup path). */
  byStat(st: BigIntStats, parentDev: bigint | undefined): Verdict {
    if (this.opts.largerThan !== undefined && !st.isDirectory() && st.size > BigInt(this.opts.largerThan)) return 'skip';
    if (!this.opts.oneFileSystem || parentDev === undefined || st.dev === parentDev) return 'keep';
    return st.isDirectory() ? 'mountpoint' : 'skip';
  }

  /** Which names (their bytes as latin1 text) of directory `dir` to back up: all of them, or only the tag files when a tag rule holds for it. */
  keeps(dir: Buffer): (name: string) => boolean {
    const holding = this.tags.filter((t) => this.tagged(dir, t));
    return holding.length === 0 ? ALL : (n) => holding.every((t) => n === t.file.toString('latin1'));
  }

  private tagged(dir: Buffer, tag: TagSpec): boolean {
    const path = Buffer.concat([dir, SLASH, tag.file]);
    try {
      lstatSync(path);
    } catch {
      return false; // absent (or unreachable): nothing to exclude, as restic
    }
    if (tag.header.length === 0) return true;
    const head = readHead(path, tag.header.length);
    if (head instanceof Error) this.warn(`${path}: cannot read the exclusion tag file (${head.message}); the directory is backed up`);
    else if (!head.equals(tag.header)) this.warn(`${path}: the exclusion tag file has ${head.length < tag.header.length ? 'a too short' : 'an invalid'} signature; the directory is backed up`);
    else return true;
    return false;
  }
}

const SLASH = Buffer.from('/');
const ALL = () => true;

/** FILE[:HEADER], split at the first colon (restic's RejectIfPresent); the name is checked non-empty by the schema. */
function parseTagSpec(spec: string): TagSpec {
  const colon = spec.indexOf(':');
  return colon < 0 ? { file: Buffer.from(spec), header: Buffer.alloc(0) } : { file: Buffer.from(spec.slice(0, colon)), header: Buffer.from(spec.slice(colon + 1)) };
}

/** Up to `n` bytes from the start of the file (fewer when it is shorter). */
function readHead(path: Buffer, n: number): Buffer | Error {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); // a FIFO under the tag's name never blocks
    const buf = Buffer.alloc(n);
    let got = 0;
    for (let r = 1; got < n && r > 0; got += r) r = readSync(fd, buf, got, n - got, got);
    return buf.subarray(0, got);
  } catch (e) {
    return e as Error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
