/**
 * `ebak diff <a> <b>`, restic's command: what changed from snapshot a to b,
 * one line an entry (`+` added, `-` removed, `M` contents changed, `T` type
 * changed, `?` contents changed with every other field the same: bit rot;
 * with `--metadata`, `U` for an entry whose metadata alone changed), then
 * restic's totals: files, directories and other entries added and removed,
 * and the data and tree blobs (with their bytes) only one side uses.
 * `--json` is restic's NDJSON: one `change` line an entry, then the
 * `statistics` line. A symlink whose target changed is `M` (its contents);
 * restic shows that only under --metadata. Entries are matched and paths
 * built by their name bytes (tree v2 keeps names that are not UTF-8 as
 * bytes), so `a\xff` and `a\uFFFD` are two entries: a path that is not
 * UTF-8 prints with those bytes as `\xNN`, and its JSON line adds
 * `path_raw` (base64 of the bytes, as the tree's `name_raw`).
 */
import { isUtf8 } from 'node:buffer';

import { EbakError } from '../../errors.js';
import type { BlobIndex, TreeLoader } from '../../repository/api.js';
import { nameBytes, nameKey, type TreeNode } from '../../repository/format/tree.js';
import { dirParts } from '../../repository/trees.js';
import { defineCommand, type Output } from '../command.js';
import { formatBytes } from '../format.js';
import { selectOne, snapshotFilter } from '../select.js';
import { withRepo } from '../session.js';

interface DiffStat {
  files: number;
  dirs: number;
  others: number;
  data_blobs: number;
  tree_blobs: number;
  bytes: number;
}

const emptyStat = (): DiffStat => ({ files: 0, dirs: 0, others: 0, data_blobs: 0, tree_blobs: 0, bytes: 0 });

export const diffCommand = defineCommand({
  name: 'diff',
  usage: 'ebak diff <snapshot-a> <snapshot-b> | diff --at <time> [--host H] [--path P] <snapshot-b>   [--metadata] [--json]',
  async run({ positionals, switches, values, lists }, ctx) {
    // --at stands for the first snapshot: what changed between then and snapshot-b.
    const wanted = values.at === undefined ? 2 : 1;
    if (positionals.length !== wanted) throw new EbakError('USAGE', values.at === undefined ? 'diff needs two snapshots' : 'diff --at needs one snapshot (the one compared with the snapshot at that time)', { hint: diffCommand.usage });
    return withRepo(ctx, { index: true, readOnly: true }, async (repo) => {
      const a = await selectOne(repo, wanted === 2 ? positionals[0] : undefined, values.at, snapshotFilter(lists), (m) => ctx.out.warn(m));
      const b = await repo.findSnapshot(positionals.at(-1)!);
      ctx.out.info(`comparing snapshot ${a.id.slice(0, 8)} to ${b.id.slice(0, 8)}:\n`);
      const c = new Comparer(repo, ctx.out, switches.metadata === true);
      c.before.add(`t${a.snapshot.tree}`);
      c.after.add(`t${b.snapshot.tree}`);
      await c.diffTree(a.snapshot.tree, b.snapshot.tree, Buffer.alloc(0));
      const stats = { message_type: 'statistics', source_snapshot: wanted === 2 ? positionals[0]! : a.id, target_snapshot: positionals.at(-1)!, ...c.totals() };
      ctx.out.record(stats);
      printTotals(ctx.out, stats);
      return 0;
    });
  },
});

/** Walks two trees side by side (restic's Comparer), printing changes and collecting what the totals need. */
class Comparer {
  /** Blobs ("d<id>", "t<id>") of entries seen on each side, and inside subtrees both sides share. */
  readonly before = new Set<string>();
  readonly after = new Set<string>();
  readonly common = new Set<string>();
  readonly added = emptyStat();
  readonly removed = emptyStat();
  changedFiles = 0;

  constructor(private readonly repo: TreeLoader & BlobIndex, private readonly out: Output, private readonly metadata: boolean) {}

  /** Both directories' entries side by side in name order (a merge of two sorted streams: a split directory is read part by part). */
  async diffTree(a: string, b: string, base: Buffer): Promise<void> {
    const xs = this.entries(a, this.before);
    const ys = this.entries(b, this.after);
    let x = await next(xs);
    let y = await next(ys);
    while (x || y) {
      const order = !x ? 1 : !y ? -1 : compareKeys(nameKey(x), nameKey(y));
      if (order <= 0) addBlobs(this.before, x!);
      if (order >= 0) addBlobs(this.after, y!);
      if (order === 0) await this.both(x!, y!, under(base, y!));
      else if (order < 0) await this.only('-', x!, under(base, x!), this.removed, this.before);
      else await this.only('+', y!, under(base, y!), this.added, this.after);
      if (order <= 0) x = await next(xs);
      if (order >= 0) y = await next(ys);
    }
  }

  /** A directory's entries in order; the parts of a split one go into `blobs` (they are tree blobs of that side). */
  private async *entries(tree: string, blobs: Set<string>): AsyncGenerator<TreeNode> {
    for await (const part of dirParts(this.repo, tree)) {
      blobs.add(`t${part.id}`);
      yield* part.nodes;
    }
  }

  private async both(x: TreeNode, y: TreeNode, path: Buffer): Promise<void> {
    let mod = x.type === y.type ? '' : 'T';
    if (contentsDiffer(x, y)) {
      mod += x.type === 'file' && sameMetadata(x, y) ? 'M?' : 'M';
      if (x.type === 'file') this.changedFiles++;
    } else if (this.metadata && !sameMetadata(x, y)) mod += 'U';
    if (mod !== '') this.change(mod, dirPath(path, y));
    if (x.type !== 'dir' || y.type !== 'dir') return;
    if (x.subtree === y.subtree) await this.collect(x.subtree!, this.common);
    else await this.diffTree(x.subtree!, y.subtree!, path);
  }

  /** An entry only one side has, and everything below it. */
  private async only(mod: '+' | '-', n: TreeNode, path: Buffer, stat: DiffStat, blobs: Set<string>): Promise<void> {
    this.change(mod, dirPath(path, n));
    countNode(stat, n);
    if (n.type !== 'dir') return;
    for await (const child of this.entries(n.subtree!, blobs)) {
      addBlobs(blobs, child);
      await this.only(mod, child, under(path, child), stat, blobs);
    }
  }

  private async collect(tree: string, into: Set<string>): Promise<void> {
    for await (const n of this.entries(tree, into)) {
      addBlobs(into, n);
      if (n.type === 'dir') await this.collect(n.subtree!, into);
    }
  }

  private change(modifier: string, path: Buffer): void {
    const text = shown(path);
    this.out.info(`${modifier.padEnd(5)}${text}`);
    this.out.record({ message_type: 'change', path: text, ...(isUtf8(path) ? {} : { path_raw: path.toString('base64') }), modifier });
  }

  /** restic's totals: the blobs each side alone uses count as added or removed. */
  totals(): { changed_files: number; added: DiffStat; removed: DiffStat } {
    const shared = (k: string) => (this.before.has(k) && this.after.has(k)) || this.common.has(k);
    this.countBlobs([...this.before].filter((k) => !shared(k)), this.removed);
    this.countBlobs([...this.after].filter((k) => !shared(k)), this.added);
    return { changed_files: this.changedFiles, added: this.added, removed: this.removed };
  }

  private countBlobs(keys: string[], stat: DiffStat): void {
    for (const k of keys) {
      if (k[0] === 'd') stat.data_blobs++;
      else stat.tree_blobs++;
      stat.bytes += this.repo.lookupBlob(Buffer.from(k.slice(1), 'hex'))?.rawLength ?? 0;
    }
  }
}

async function next(entries: AsyncGenerator<TreeNode>): Promise<TreeNode | undefined> {
  const r = await entries.next();
  return r.done ? undefined : r.value;
}

/** Name keys (latin1: a character a byte) in byte order. */
const compareKeys = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function addBlobs(set: Set<string>, n: TreeNode): void {
  for (const id of n.content ?? []) set.add(`d${id}`);
  if (n.subtree) set.add(`t${n.subtree}`);
}

function countNode(stat: DiffStat, n: TreeNode): void {
  if (n.type === 'file') stat.files++;
  else if (n.type === 'dir') stat.dirs++;
  else stat.others++;
}

const SLASH = Buffer.from('/');

/** The path of `n` in the directory at `base`, as bytes. */
const under = (base: Buffer, n: TreeNode) => Buffer.concat([base, SLASH, nameBytes(n)]);

const dirPath = (path: Buffer, n: TreeNode) => (n.type === 'dir' ? Buffer.concat([path, SLASH]) : path);

/** A path as text: itself when UTF-8, else each component that is not UTF-8 with its bytes above 0x7f as `\xNN`. */
function shown(path: Buffer): string {
  if (isUtf8(path)) return path.toString();
  return path.toString('latin1').split('/').map((c) => {
    const bytes = Buffer.from(c, 'latin1');
    return isUtf8(bytes) ? bytes.toString() : c.replace(/[\x80-\xff]/g, (ch) => `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`);
  }).join('/');
}

/** A file's blobs, or a symlink's target. */
function contentsDiffer(x: TreeNode, y: TreeNode): boolean {
  if (x.type === 'file' && y.type === 'file') return x.content!.join() !== y.content!.join();
  return x.type === 'symlink' && y.type === 'symlink' && !(x.rawTarget ?? Buffer.from(x.target!)).equals(y.rawTarget ?? Buffer.from(y.target!));
}

/** Every field but the contents (a directory's subtree is its contents). */
function sameMetadata(x: TreeNode, y: TreeNode): boolean {
  const meta = (n: TreeNode) => JSON.stringify([n.type, n.mode, n.uid, n.gid, n.mtime, n.ctime, n.inode, n.dev, n.links, n.size, n.rdev, (n.xattrs ?? []).map((a) => [a.name.toString('base64'), a.value.toString('base64')])]);
  return meta(x) === meta(y);
}

function printTotals(out: Output, s: { changed_files: number; added: DiffStat; removed: DiffStat }): void {
  const pair = (label: string, added: number, removed: number) => `${label.padEnd(13)}${String(added).padStart(5)} new, ${String(removed).padStart(5)} removed`;
  out.line('');
  out.line(`${pair('Files:', s.added.files, s.removed.files)}, ${String(s.changed_files).padStart(5)} changed`);
  out.line(pair('Dirs:', s.added.dirs, s.removed.dirs));
  out.line(pair('Others:', s.added.others, s.removed.others));
  out.line(pair('Data Blobs:', s.added.data_blobs, s.removed.data_blobs));
  out.line(pair('Tree Blobs:', s.added.tree_blobs, s.removed.tree_blobs));
  out.line(`  Added:   ${formatBytes(s.added.bytes)}`);
  out.line(`  Removed: ${formatBytes(s.removed.bytes)}`);
}
