/**
 * `ebak dump <snapshot> <path>` (restic's command): a file's contents, or a
 * directory (`/`: the whole snapshot) as a tar (src/restorer/tar.ts) or, with
 * `--archive zip`, a ZIP (src/restorer/zip.ts), on stdout or into `--target
 * FILE`. As restic, an archive is never written to a terminal.
 * Every blob is authenticated before a byte of it is written; a blob that
 * fails ends the output there with an error (the exit code says so).
 */
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';

import { writeContents } from '../../restorer/dump.js';
import { writeTar, type TarSource } from '../../restorer/tar.js';
import { writeZip } from '../../restorer/zip.js';
import { EbakError } from '../../errors.js';
import type { TreeLoader } from '../../repository/api.js';
import { nameBytes, type TreeNode } from '../../repository/format/tree.js';
import { mapIoError } from '../../util/fs.js';
import { walk } from '../../walker/index.js';
import { defineCommand } from '../command.js';
import { withRepo } from '../session.js';

export const dumpCommand = defineCommand({
  name: 'dump',
  usage: 'ebak dump [--archive tar|zip] [--target FILE] <snapshot|latest> <path>',
  async run({ positionals, values }, ctx) {
    if (positionals.length !== 2) throw new EbakError('USAGE', 'dump needs a snapshot and a path', { hint: dumpCommand.usage });
    const path = '/' + positionals[1]!.split('/').filter(Boolean).join('/');
    const target = values.target;
    return withRepo(ctx, { index: true, pool: true }, async (repo, pool) => {
      const { snapshot } = await repo.findSnapshot(positionals[0]!);
      const src: TarSource = { trees: repo, blobs: repo.blobReader(pool!) };
      const found: { node?: TreeNode; bytes: Buffer } = path === '/' ? { bytes: Buffer.alloc(0) } : await findNode(repo, snapshot.tree, path);
      const node = found.node;
      if (node && node.type !== 'file' && node.type !== 'dir') throw new EbakError('USAGE', `${path} is a ${node.type}, not a file or directory`);
      const archive = node?.type !== 'file';
      if (archive && target === undefined && process.stdout.isTTY)
        throw new EbakError('USAGE', `stdout is a terminal: refusing to write a ${values.archive === 'zip' ? 'ZIP' : 'tar'} archive to it`, { hint: 'redirect stdout or pass --target FILE' });
      await toOutput(target, async (out) => {
        if (!archive) await writeContents(src.blobs, path, node!, (chunk) => writeChunk(out, chunk));
        else await (values.archive === 'zip' ? writeZip : writeTar)(src, node?.subtree ?? snapshot.tree, path === '/' ? '' : path, found.bytes, out);
      });
      return 0;
    });
  },
});

/** The node at `path` and its path as bytes; NOT_FOUND when the snapshot has none there. */
async function findNode(trees: TreeLoader, root: string, path: string): Promise<{ node: TreeNode; bytes: Buffer }> {
  let found: TreeNode | undefined;
  const names: Buffer[] = [];
  await walk(trees, root, {
    node(p, n) {
      if (p !== path && !path.startsWith(p + '/')) return 'skip';
      names.push(Buffer.from('/'), nameBytes(n));
      if (p !== path) return n.type === 'dir' ? undefined : 'skip';
      found = n;
      return 'stop';
    },
  });
  if (!found) throw new EbakError('NOT_FOUND', `${path} is not in the snapshot`, { hint: 'ebak ls <snapshot> <dir> lists what is there' });
  return { node: found, bytes: Buffer.concat(names) };
}

/** Runs `write` on stdout, or on the file `target` (created or truncated, as restic), closed after. */
async function toOutput(target: string | undefined, write: (out: Writable) => Promise<void>): Promise<void> {
  if (target === undefined) return write(process.stdout);
  let file: FileHandle;
  try {
    file = await open(target, 'w');
  } catch (e) {
    throw mapIoError(e, target);
  }
  const out = file.createWriteStream();
  try {
    await write(out);
    if (!out.writableEnded) await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(mapIoError(e, target)) : resolve())));
  } finally {
    out.destroy();
    await file.close().catch(() => undefined);
  }
}

function writeChunk(out: Writable, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(chunk, (e) => (e ? reject(e) : resolve()));
  });
}
