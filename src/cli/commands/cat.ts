/**
 * `ebak cat`: one repository object, decrypted and authenticated (restic's
 * command, for debugging and scripts). JSON objects are printed as JSON;
 * blobs and packs as their bytes. `masterkey` is refused on purpose: in
 * ebak the repository key is released only to open the repository (in vault
 * mode to this device, after the vault's checks), never printed.
 */
import { sha256 } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';
import { BlobType } from '../../repository/format/pack.js';
import type { Repository } from '../../repository/repository.js';
import type { WorkerPool } from '../../repository/workers.js';
import type { Backend } from '../../storage/backend.js';
import { walk } from '../../walker/index.js';
import { defineCommand, type Context } from '../command.js';
import { withRepo } from '../session.js';

const USAGE = 'ebak cat config | snapshot <id> | index <id> | key <id> | tree <snapshot>[:<path>] | blob <id> | pack <id>';

export const catCommand = defineCommand({
  name: 'cat',
  usage: USAGE,
  async run({ positionals }, ctx) {
    const [what, id] = positionals;
    if (what === 'masterkey') throw new EbakError('USAGE', 'ebak does not print the repository key', { hint: 'the key stays inside ebak (or the vault); back up the recovery key instead' });
    if (what === undefined || !(what === 'config' ? id === undefined : id !== undefined && what in OBJECTS)) throw new EbakError('USAGE', 'cat needs an object type (and for all but config, an id)', { hint: USAGE });
    const bytes = what === 'blob' || what === 'pack';
    return withRepo(ctx, { index: what !== 'config' && what !== 'key', pool: what === 'blob', readOnly: true }, async (repo, pool, backend) => {
      const value = await OBJECTS[what]!({ repo, pool, backend, ctx }, id ?? '');
      process.stdout.write(bytes ? (value as Buffer) : JSON.stringify(value, null, 2) + '\n');
      return 0;
    });
  },
});

interface Opened {
  repo: Repository;
  pool: WorkerPool | undefined;
  backend: Backend;
  ctx: Context;
}

const OBJECTS: Record<string, (o: Opened, id: string) => Promise<unknown>> = {
  config: async ({ repo }) => repo.config,
  snapshot: async ({ repo }, id) => (await repo.findSnapshot(id)).snapshot,
  index: async ({ repo }, id) => (await repo.loadIndexFile(id)).map((p) => ({
    id: p.id.toString('hex'), kind: p.kind, key_source: p.keySource,
    blobs: p.blobs.map((b) => ({ id: Buffer.from(b.id).toString('hex'), type: b.type === BlobType.tree ? 'tree' : 'data', offset: b.offset, length: b.length, uncompressed_length: b.rawLength })),
  })),
  key: async ({ repo }, id) => {
    const found = (await repo.listKeys()).filter((k) => k.id.startsWith(id));
    if (found.length !== 1) throw new EbakError(found.length ? 'USAGE' : 'NOT_FOUND', found.length ? `key prefix ${id} is ambiguous` : `no key ${id}`);
    if (found[0]!.damaged) throw new EbakError('CORRUPT', `key ${found[0]!.id}: ${found[0]!.damaged}`);
    return found[0]!.file;
  },
  tree: async ({ repo }, ref) => repo.loadTree(await treeAt(repo, ref)),
  blob: async ({ repo, pool }, id) => readBlob(repo, pool!, id),
  pack: async ({ backend, ctx }, id) => {
    const data = await backend.load({ type: 'data', name: id });
    if (sha256(data).toString('hex') !== id) ctx.out.warn(`pack ${id}: its bytes do not hash to its name (damaged); printed as stored`);
    return data;
  },
};

/** `<snapshot>[:<path>]`: the tree id of that directory of the snapshot. */
async function treeAt(repo: Repository, ref: string): Promise<string> {
  const colon = ref.indexOf(':');
  const { snapshot } = await repo.findSnapshot(colon < 0 ? ref : ref.slice(0, colon));
  const path = colon < 0 ? '' : '/' + ref.slice(colon + 1).split('/').filter(Boolean).join('/');
  if (path === '' || path === '/') return snapshot.tree;
  let found: string | undefined;
  await walk(repo, snapshot.tree, {
    node(p, n) {
      if (p === path) {
        if (n.type !== 'dir') throw new EbakError('USAGE', `${path} is not a directory in the snapshot`);
        found = n.subtree;
        return 'stop';
      }
      return path.startsWith(p + '/') ? undefined : 'skip';
    },
  });
  if (!found) throw new EbakError('NOT_FOUND', `no directory ${path} in the snapshot`);
  return found;
}

async function readBlob(repo: Repository, pool: WorkerPool, hex: string): Promise<Buffer> {
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new EbakError('USAGE', `${JSON.stringify(hex)} is not a blob id (64 hex digits)`);
  const id = Buffer.from(hex, 'hex');
  const loc = repo.lookupBlob(id);
  if (!loc) throw new EbakError('NOT_FOUND', `no blob ${hex} in the index`);
  let out: Buffer | undefined;
  await repo.blobReader(pool).readBlobs(loc.type, [{ id, loc }], (_i, plain) => (out = plain));
  return out!;
}
