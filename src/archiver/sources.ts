/**
 * The lists a backup reads from files, as restic reads them
 * (cmd/restic/cmd_backup.go, internal/filter/exclude.go):
 *
 * - pattern files (--exclude-file, --iexclude-file): one pattern a line,
 *   trimmed; blank lines and lines starting with # are ignored; $VAR and
 *   ${VAR} are replaced by the variable ($$ is a literal $). A UTF-8 or
 *   UTF-16 byte-order mark is honoured, as restic's textfile.Read does.
 * - --files-from: one path or glob a line, trimmed, blank and # lines
 *   ignored; globs expanded as Go's filepath.Glob does (a line matching
 *   nothing, a missing plain path too, is only a warning, as in restic).
 * - --files-from-verbatim: one path a line, exactly as written (only empty
 *   lines are skipped).
 * - --files-from-raw: paths each ended by a NUL byte, any bytes (a name that
 *   is not UTF-8 stays bytes).
 *
 * "-" reads standard input. Paths of the verbatim and raw lists that do not
 * exist are left out with a warning each and counted (the backup then
 * exits 3, as restic 0.17's filterExisting makes it).
 */
import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { EbakError } from '../errors.js';
import { globRegex } from '../util/glob.js';
import { mapIoError } from '../util/fs.js';

/** A backup path: text, or bytes for a name that is not UTF-8 (--files-from-raw). */
export type SourcePath = string | Buffer;

/** The patterns of one pattern file; `flag` names it in errors. */
export function readPatternFile(file: string, flag: string, env: NodeJS.ProcessEnv): string[] {
  return textLines(readList(file, flag))
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => expandVariables(l, env));
}

export interface FilesFrom {
  filesFrom?: readonly string[];
  verbatim?: readonly string[];
  raw?: readonly string[];
}

/** The paths the files-from lists name (globs expanded), in order; those that do not exist are warned about and counted. */
export function readFilesFrom(lists: FilesFrom, warn: (msg: string) => void): { paths: SourcePath[]; missing: number } {
  const listed: SourcePath[] = [];
  for (const file of lists.filesFrom ?? []) {
    for (const line of textLines(readList(file, '--files-from')).map((l) => l.trim())) {
      if (line === '' || line.startsWith('#')) continue;
      const found = expandGlob(line);
      if (found.length === 0) warn(`--files-from: pattern ${JSON.stringify(line)} does not match any file; skipped`);
      listed.push(...found);
    }
  }
  for (const file of lists.verbatim ?? []) listed.push(...textLines(readList(file, '--files-from-verbatim')).filter((l) => l !== ''));
  for (const file of lists.raw ?? []) listed.push(...rawNames(readList(file, '--files-from-raw'), file));
  const paths = listed.filter((p) => exists(p, warn));
  return { paths, missing: listed.length - paths.length };
}

function readList(file: string, flag: string): Buffer {
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (e) {
    throw new EbakError('USAGE', `${flag} ${file}: ${mapIoError(e, file === '-' ? 'standard input' : file).message}`, { cause: e });
  }
}

/** Lines of a text file: a UTF-8 or UTF-16 byte-order mark honoured, \n or \r\n ends a line. */
function textLines(bytes: Buffer): string[] {
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) text = bytes.subarray(2).toString('utf16le');
  else if (bytes[0] === 0xfe && bytes[1] === 0xff) text = Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  else text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Go's os.Expand with restic's getenv: $NAME and ${NAME} (unset: empty), $$ a literal $. */
function expandVariables(line: string, env: NodeJS.ProcessEnv): string {
  return line.replace(/\$(?:\$|\{([^}]*)\}|([A-Za-z0-9_]+))/g, (all, braced: string | undefined, bare: string | undefined) => {
    if (all === '$$') return '$';
    return env[braced ?? bare ?? ''] ?? '';
  });
}

/** NUL-ended names; a missing final NUL or an empty name is refused (restic's messages). */
function rawNames(bytes: Buffer, file: string): SourcePath[] {
  const names: SourcePath[] = [];
  for (let start = 0; start < bytes.length; ) {
    const end = bytes.indexOf(0, start);
    if (end < 0) throw new EbakError('USAGE', `--files-from-raw ${file}: the last name has no trailing NUL byte`);
    if (end === start) throw new EbakError('USAGE', `--files-from-raw ${file}: an empty name in the listing`);
    const name = bytes.subarray(start, end);
    names.push(isUtf8(name) ? name.toString('utf8') : Buffer.from(name));
    start = end + 1;
  }
  return names;
}

const isUtf8 = (b: Buffer): boolean => Buffer.from(b.toString('utf8')).equals(b);

function exists(p: SourcePath, warn: (msg: string) => void): boolean {
  try {
    lstatSync(p);
    return true;
  } catch (e) {
    warn(`${mapIoError(e, p.toString()).message}; skipped`);
    return false;
  }
}

const META = /[*?[\\]/;

/** Go's filepath.Glob: the existing paths the pattern names, each directory's matches sorted. */
export function expandGlob(pattern: string): string[] {
  let found = [pattern.startsWith('/') ? '/' : ''];
  for (const part of pattern.split('/').filter(Boolean)) {
    if (!META.test(part)) {
      found = found.map((d) => join(d, part));
      continue;
    }
    const re = globRegex(part);
    found = found.flatMap((d) => listDir(d).filter((n) => re.test(n)).map((n) => join(d, n)));
  }
  return found.filter((p) => exists(p, () => undefined));
}

const join = (dir: string, name: string): string => (dir === '' ? name : dir.endsWith('/') ? dir + name : `${dir}/${name}`);

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir === '' ? '.' : dir).sort();
  } catch {
    return [];
  }
}
