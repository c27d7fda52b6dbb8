/**
 * `ebak find PATTERN...`: which snapshots hold files matching a glob,
 * restic's command. A pattern without "/" matches an entry's name, one with
 * "/" its whole path (`*` and `?` within a component, `**` across); a
 * `!pattern` takes back what an earlier pattern matched (the last pattern
 * to match decides, as in backup's and restore's lists); `--ignore-case` folds case; `--newest`/`--oldest` bound the mtime. Every
 * snapshot the ids or the filter select is searched; a subtree shared by
 * snapshots already searched is read again (matches differ by snapshot).
 * A name that is not UTF-8 is printed as its bytes, in JSON with U+FFFD
 * (listing.ts).
 */
import { EbakError } from '../../errors.js';
import { globRegex } from '../../util/glob.js';
import type { TreeNode } from '../../repository/format/tree.js';
import { walk } from '../../walker/index.js';
import { defineCommand } from '../command.js';
import { EXIT_PARTIAL } from '../exit.js';
import { entryLine, jsonNode, PathBytes } from '../listing.js';
import { selectSnapshots, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

type Match = (path: string, node: TreeNode) => boolean;

export const findCommand = defineCommand({
  name: 'find',
  usage: 'ebak find PATTERN... [--snapshot ID]... [--host H] [--tag T[,T]] [--path P] [-i] [-l] [--newest TIME] [--oldest TIME] [--json]',
  async run({ positionals, values, lists, switches }, ctx) {
    if (positionals.length === 0) throw new EbakError('USAGE', 'find needs at least one pattern', { hint: findCommand.usage });
    const match = matcher(positionals, switches['ignore-case'] === true, values.oldest, values.newest);
    return withRepo(ctx, { index: true, readOnly: true }, async (repo) => {
      const { entries, damaged } = await selectSnapshots(repo, lists.snapshot ?? [], snapshotFilter(lists));
      for (const e of damaged) ctx.out.warn(`${e.message}; not searched`);
      const results: object[] = [];
      for (const { id, snapshot } of entries) {
        const found: object[] = [];
        const bytes = new PathBytes();
        await walk(repo, snapshot.tree, {
          node(path, node) {
            const raw = bytes.of(path, node);
            if (!match(path, node)) return;
            if (found.length === 0) ctx.out.line(`Found matching entries in snapshot ${id.slice(0, 8)} from ${snapshot.time}`);
            ctx.out.line(entryLine(path, node, switches.long === true, raw));
            found.push(jsonNode(path, node));
          },
        });
        if (found.length > 0) results.push({ matches: found, hits: found.length, snapshot: id });
      }
      ctx.out.result(results);
      return damaged.length > 0 ? EXIT_PARTIAL : 0;
    });
  },
});

function matcher(patterns: string[], ignoreCase: boolean, oldest: string | undefined, newest: string | undefined): Match {
  const tests = patterns.map((p) => {
    const negated = p.startsWith('!');
    const glob = negated ? p.slice(1) : p;
    const re = globRegex(glob, ignoreCase ? 'i' : '');
    return { negated, test: glob.includes('/') ? (path: string) => re.test(path) : (_: string, n: TreeNode) => re.test(n.name) };
  });
  const listed = (path: string, n: TreeNode): boolean => {
    let matched = false;
    for (const t of tests) if (matched === t.negated && t.test(path, n)) matched = !t.negated;
    return matched;
  };
  const after = oldest === undefined ? undefined : BigInt(timeArg('--oldest', oldest)) * 1_000_000n;
  const before = newest === undefined ? undefined : BigInt(timeArg('--newest', newest)) * 1_000_000n;
  return (path, n) => {
    const mtime = BigInt(n.mtime);
    return (after === undefined || mtime >= after) && (before === undefined || mtime <= before) && listed(path, n);
  };
}

function timeArg(flag: string, text: string): number {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new EbakError('USAGE', `${flag} ${JSON.stringify(text)} is not a date or time`, { hint: 'give e.g. 2024-01-31 or 2024-01-31T12:00:00Z' });
  return ms;
}
