/**
 * Writes test/vectors/trees-v3.json (docs/format.md, "Split directories"):
 * run `npx tsc -p . && node dist/test/vectors/make-trees-v3.js`. Nothing in
 * it is random: regenerating gives the same file. Outcomes are stated here
 * by hand; the file is not written when the code disagrees.
 */
import { writeFileSync } from 'node:fs';
import { encodeTree, type TreeNode } from '../../src/repository/format/tree.js';
import { decodeTreeBlob, encodeSplitRoot, type TreePart } from '../../src/repository/format/tree-split.js';
import { MASTER_HEX, outcomeSync, type Outcome } from '../repository/vector-kit.js';
import { blobId, FILE, loaderOf, readOutcome, writtenTree, type StoredDir, type TreeV3Vectors } from './trees-v3-kit.js';

const b = (latin1: string) => Buffer.from(latin1, 'latin1');
const meta = { mode: 0o644, uid: 1000, gid: 1000, mtime: '1700000000000000000', ctime: '1700000000000000000', inode: '1', dev: '2049', links: 1 };
const file = (name: string | Buffer, size = 0): TreeNode => ({
  ...meta, ...(typeof name === 'string' ? { name } : { name: name.toString(), rawName: name }), type: 'file', size, content: size ? ['ab'.repeat(32)] : [],
});

/** Writes `nodes` through the TreeWriter, keeping every blob it stores. */
async function stored(name: string, nodes: TreeNode[], limits: StoredDir['limits']): Promise<StoredDir> {
  const { tree, blobs } = await writtenTree(nodes, limits);
  const names = (await loaderOf(blobs).loadTree(tree)).map((n) => (n.rawName ?? Buffer.from(n.name)).toString('hex'));
  return { name, limits, tree, blobs, names };
}

const many = [...Array.from({ length: 22 }, (_, i) => file(`e${String(i).padStart(2, '0')}`, i % 3)), file(b('e\xff')), file('\u{1F600}')];
const valid = [
  await stored('24 entries, N = 4: split at the names that hash to a boundary (at least 2, at most 8 a part)', many, { entries: 4, bytes: 1 << 20 }),
  await stored('6 entries, M = 600 bytes: split by the byte cap', many.slice(0, 6), { entries: 100, bytes: 600 }),
  await stored('4 entries at N = 4: one version-2 tree, exactly encodeTree', many.slice(0, 4), { entries: 4, bytes: 1 << 20 }),
];
expect('split directory has parts', 'parts' in decodeTreeBlob(Buffer.from(valid[0]!.blobs[valid[0]!.tree]!), 'v') ? 'ok' : 'one tree', 'ok');
expect('byte cap splits', 'parts' in decodeTreeBlob(Buffer.from(valid[1]!.blobs[valid[1]!.tree]!), 'v') ? 'ok' : 'one tree', 'ok');
expect('at the limit stays one tree', valid[2]!.blobs[valid[2]!.tree], encodeTree(many.slice(0, 4)).toString());

const H = 'ab'.repeat(32);
const root = (...parts: unknown[]) => JSON.stringify({ version: 3, parts });
const part = { first: 'a', count: 1, tree: H };
const roots: TreeV3Vectors['roots'] = [
  { name: 'one part', json: root(part), expect: 'ok' },
  { name: 'first_raw: a first name that is not UTF-8', json: root({ first_raw: b('a\xff').toString('base64'), count: 2, tree: H }), expect: 'ok' },
  { name: 'version 4', json: JSON.stringify({ version: 4, parts: [part] }), expect: 'UNSUPPORTED_VERSION' },
  { name: 'version 3 with nodes, no parts', json: JSON.stringify({ version: 3, nodes: [] }), expect: 'CORRUPT' },
  { name: 'parts empty', json: root(), expect: 'CORRUPT' },
  { name: 'parts not an array', json: JSON.stringify({ version: 3, parts: {} }), expect: 'CORRUPT' },
  { name: 'a part not an object', json: root('a'), expect: 'CORRUPT' },
  { name: 'first missing', json: root({ count: 1, tree: H }), expect: 'CORRUPT' },
  { name: 'first and first_raw', json: root({ ...part, first_raw: b('a\xff').toString('base64') }), expect: 'CORRUPT' },
  { name: 'first_raw of valid UTF-8', json: root({ first_raw: b('a').toString('base64'), count: 1, tree: H }), expect: 'CORRUPT' },
  { name: 'first empty', json: root({ ...part, first: '' }), expect: 'UNSAFE_PATH' },
  { name: 'first with "/"', json: root({ ...part, first: 'a/b' }), expect: 'UNSAFE_PATH' },
  { name: 'first ".."', json: root({ ...part, first: '..' }), expect: 'UNSAFE_PATH' },
  { name: 'first names unsorted', json: root({ ...part, first: 'b' }, part), expect: 'CORRUPT' },
  { name: 'first names duplicated', json: root(part, part), expect: 'CORRUPT' },
  { name: 'count 0', json: root({ ...part, count: 0 }), expect: 'CORRUPT' },
  { name: 'count as a string', json: root({ ...part, count: '1' }), expect: 'CORRUPT' },
  { name: 'count 1.5', json: root({ ...part, count: 1.5 }), expect: 'CORRUPT' },
  { name: 'tree in upper case', json: root({ ...part, tree: H.toUpperCase() }), expect: 'CORRUPT' },
  { name: 'an array', json: '[3]', expect: 'CORRUPT' },
];
for (const r of roots) expect(`roots/${r.name}`, outcomeSync(() => decodeTreeBlob(Buffer.from(r.json), 'vector')), r.expect);

/** A directory of the given parts (each a list of entries, or raw blob text), its root stating `claims` for each. */
function dir(name: string, parts: (TreeNode[] | string)[], claims: Partial<TreePart>[], expect: Outcome): TreeV3Vectors['mismatched'][number] {
  const blobs: Record<string, string> = {};
  const listed = parts.map((p, i) => {
    const text = typeof p === 'string' ? p : encodeTree(p).toString();
    const id = blobId(Buffer.from(text));
    blobs[id] = text;
    const nodes = typeof p === 'string' ? [] : p;
    return { first: nodes[0] ? Buffer.from(nodes[0].name) : b('a'), count: nodes.length, id, ...claims[i] };
  });
  const rootText = encodeSplitRoot(listed).toString();
  const tree = blobId(Buffer.from(rootText));
  blobs[tree] = rootText;
  return { name, tree, blobs, expect };
}
const [a, c, d, e] = ['a', 'c', 'd', 'e'].map((n) => file(n));
const mismatched = [
  dir('root and parts agree', [[a!, c!], [d!, e!]], [{}, {}], 'ok'),
  dir('a part of version 1 (a list of entries all the same)', [encodeTree([a!, c!], 1).toString(), [d!]], [{ first: b('a'), count: 2 }, {}], 'ok'),
  dir('a part holds fewer entries than its root says', [[a!, c!], [d!]], [{ count: 3 }, {}], 'CORRUPT'),
  dir('a part starts with another name than its root says', [[c!, d!], [e!]], [{ first: b('b') }, {}], 'CORRUPT'),
  dir('a part runs into the next (its last name is the next part\'s first)', [[a!, d!], [d!, e!]], [{}, {}], 'CORRUPT'),
  dir('a part is itself a split directory\'s root', [root(part), [d!]], [{ first: b('a'), count: 1 }, {}], 'CORRUPT'),
];
for (const m of mismatched) expect(`mismatched/${m.name}`, await readOutcome(m.tree, m.blobs), m.expect);

const v: TreeV3Vectors = {
  comment: 'docs/format.md "Split directories"; made by test/vectors/make-trees-v3.ts, checked by test/repository/tree-split.test.ts',
  master: MASTER_HEX, valid, roots, mismatched,
};
writeFileSync(FILE, JSON.stringify(v, null, 1) + '\n');
console.log(`wrote ${FILE.pathname}: ${valid.length} directories, ${roots.length} roots, ${mismatched.length} mismatched`);

function expect(what: string, got: unknown, want: unknown): void {
  if (got !== want) {
    console.error(`${what}: got ${String(got)}, expected ${String(want)}; not written`);
    process.exit(1);
  }
}
