/**
 * The corruption matrix (issue #14, "Must hold"): every kind of object the
 * repository stores (docs/format.md, "Layout" and "Local cache") × every
 * single-object mutation (a bit flipped at the first byte, in the clear
 * header, in the middle, at the last byte of the ciphertext and in the tag;
 * the last byte cut off; a byte appended; the object deleted), in-process
 * through the operations, so the whole matrix takes seconds.
 *
 * For each case: a restore never writes wrong bytes (every file restored is
 * the snapshot's, and a restore with no errors is complete); `check
 * --read-data` names the damaged object (or the repository does not open,
 * naming it); what does not need the object still works (the snapshots that
 * do not use it restore completely, a backup runs); "latest" skips a damaged
 * snapshot. The counts are printed: cases, detected (check or the opening
 * names the object), tolerated (nothing needed it, or the cache fetched it
 * again), and the cases nothing can see, each named: deletions that no design
 * can see without the vault (test/vault covers the head that does).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isEbakError } from '../../src/errors.js';
import { openBackupSession, openRepository, passwordIdentity, recoveryIdentity, recoveryRecipient, type Identity } from '../../src/keys/index.js';
import { backup, check, restore } from '../../src/operations/index.js';
import { changeRetention } from '../../src/operations/retention.js';
import { generateRecoveryCode } from '../../src/repository/format/keyfile.js';
import { Repository } from '../../src/repository/repository.js';
import { WorkerPool } from '../../src/repository/workers.js';
import { addHold } from '../../src/retention/lock.js';
import { openBackend, type OpenedBackend } from '../../src/storage/open.js';
import { fileDigests, packKind, repoFiles, tempDir } from '../cli/harness.js';

const dir = await tempDir('ebak-corruption-');
const src = join(dir, 'src');
const pristine = join(dir, 'pristine');
const code = generateRecoveryCode();
const code2 = generateRecoveryCode();
const WRITE_ONLY_PASSWORD = 'write only';
let pool: WorkerPool;

type Mutation = 'flip first byte' | 'flip header' | 'flip middle' | 'flip last ciphertext byte' | 'flip tag' | 'truncate' | 'append' | 'delete';
const MUTATIONS: Mutation[] = ['flip first byte', 'flip header', 'flip middle', 'flip last ciphertext byte', 'flip tag', 'truncate', 'append', 'delete'];

/** Offsets of the five bit flips in an object of `size` bytes. */
type Layout = (bytes: Buffer) => Record<Exclude<Mutation, 'truncate' | 'append' | 'delete'>, number>;

/** EBKO objects: a clear header of `header` bytes, then nonce ‖ ciphertext ‖ tag[16]. */
const sealed = (header: number): Layout => (b) => ({ 'flip first byte': 0, 'flip header': header >> 1, 'flip middle': b.length >> 1, 'flip last ciphertext byte': b.length - 17, 'flip tag': b.length - 1 });
/** Packs: prefix[40] ‖ blobs ‖ sealed header (… ‖ tag[16]) ‖ headerLength u32. */
const pack: Layout = (b) => ({ 'flip first byte': 0, 'flip header': 20, 'flip middle': b.length >> 1, 'flip last ciphertext byte': b.length - 21, 'flip tag': b.length - 5 });
/** Key files (JSON): the header is the KDF salt; the ciphertext and tag are the base64 `data`. */
const keyFile: Layout = (b) => {
  const text = b.toString('latin1');
  const salt = text.indexOf('"salt": "') + 9;
  const data = text.indexOf('"data": "') + 9;
  const end = text.indexOf('"', data);
  return { 'flip first byte': 0, 'flip header': salt, 'flip middle': b.length >> 1, 'flip last ciphertext byte': end - 24, 'flip tag': end - 3 };
};

/** What a kind of object is, where the pristine copy holds it, and what its damage may cost. */
interface Target {
  kind: string;
  /** Path below the case's root (the repository is `repo/`, the cache `cache/`). */
  rel: string;
  /** How check and the warnings name it. */
  name: string;
  layout: Layout;
  /** The snapshots that need it (their restore may fail; every other restores completely). */
  needed: string[];
  /** Read through the cache (a cache entry): the case opens with the cache. */
  cached?: boolean;
  /** The identity whose key file this is: it opens nothing once damaged. */
  opens?: Identity;
  /** The packs an index file covers: its deletion is seen as theirs being in no index. */
  orphans?: string[];
  /** It protects snapshots (the retention lock and holds): losing it is never harmless. */
  protects?: true;
}

interface Outcome {
  /** Named by check (or the repository does not open, naming it). */
  detected: boolean;
  /** Not named, and nothing was lost: nothing needed it, or the cache fetched it again. */
  tolerated: boolean;
}

interface Fixture {
  snapshots: { id: string; files: Map<string, string> }[];
  targets: Target[];
  /** What the pristine folder holds (filesUnder). */
  files: Set<string>;
}
let fx: Fixture;

const UNSEEN_WITHOUT_VAULT = ['key file (recovery, v1)', 'key file (write-only, v2)', 'snapshot (EBKO v1)', 'newest snapshot (EBKO v2, write-only)', 'retention object'].map((k) => `${k}, delete`);

async function openBoth(path: string, cacheDir?: string): Promise<{ backend: OpenedBackend; repo: Repository }> {
  const backend = await openBackend(path, {}, cacheDir ? { cacheDir } : {});
  const repo = await openRepository(backend, [recoveryIdentity(code)]);
  await backend.useCache(repo.config.id);
  repo.skipSharedLocks(); // --no-lock: a case writes nothing, so the repository returns to its pristine bytes
  return { backend, repo };
}

/** What one step added to the repository: its new data and tree packs and index files. */
interface Added {
  data: string[];
  tree: string[];
  index: string[];
}

async function adding<T>(repoDir: string, step: () => Promise<T>): Promise<T & Added> {
  const before = new Set([...(await repoFiles(repoDir, 'data')), ...(await repoFiles(repoDir, 'index'))]);
  const result = await step();
  const fresh = async (type: 'data' | 'index') => (await repoFiles(repoDir, type)).filter((p) => !before.has(p));
  const packs = await Promise.all((await fresh('data')).map(async (p) => ({ p, kind: await packKind(p) })));
  return { ...result, data: packs.filter((x) => x.kind === 0).map((x) => x.p), tree: packs.filter((x) => x.kind === 1).map((x) => x.p), index: await fresh('index') };
}

/**
 * Three snapshots (two by the full key, the newest by a write-only
 * credential, which stores its data, trees and index again: it cannot see
 * the full key's), a second recovery key, a lock, a retention hold and a
 * filled cache; then the objects the matrix damages.
 */
async function makeFixture(): Promise<Fixture> {
  const repoDir = join(pristine, 'repo');
  const cacheDir = join(pristine, 'cache');
  await mkdir(join(src, 'a'), { recursive: true });
  await writeFile(join(src, 'a', 'one.txt'), 'one\n');
  await writeFile(join(src, 'a', 'big.bin'), randomBytes(64_000));
  const backend = await openBackend(repoDir, {}, { cacheDir });
  const repo = await Repository.init(backend, [recoveryRecipient(code)]);
  await backend.useCache(repo.config.id);
  await repo.addKey({ recoveryCode: code }, 'recovery', code2);
  await repo.addWriteOnlyKey(WRITE_ONLY_PASSWORD);
  const snapshots: Fixture['snapshots'] = [];
  const snapshot = async (target: Parameters<typeof backup>[0], hour: number) => {
    const b = await adding(repoDir, () => backup(target, pool, { paths: [src], time: new Date(Date.UTC(2026, 0, 1, hour)) }));
    snapshots.push({ id: b.id, files: await fileDigests(src) });
    return b;
  };
  await snapshot(repo, 1);
  await mkdir(join(src, 'b'));
  await writeFile(join(src, 'b', 'two.bin'), randomBytes(64_000));
  const b2 = await snapshot(repo, 2);
  await writeFile(join(src, 'b', 'three.txt'), 'three\n');
  const b3 = await snapshot((await openBackupSession(backend, [passwordIdentity(WRITE_ONLY_PASSWORD)])).repository, 3);
  await changeRetention(repo, (cur) => ({ ...cur, holds: addHold(cur.holds, snapshots[0]!.id, 'audit', new Date()) }));
  // A live shared lock of another host: it blocks nothing a case runs.
  const lock = await repo.saveObject('lock', Buffer.from(JSON.stringify({ time: new Date().toISOString(), hostname: 'elsewhere', username: 'u', pid: 1, exclusive: false })));
  await repo.loadIndex();
  for (const s of snapshots) await restore(repo, repo.blobReader(pool), { snapshot: s.id, target: join(dir, 'warm', s.id) }); // fills the cache
  await backend.close();
  const objects = { repoDir, cacheRoot: join(cacheDir, repo.config.id), lock, b2, b3 };
  return { snapshots, targets: await targetsOf(objects, snapshots.map((s) => s.id) as [string, string, string]), files: await filesUnder(pristine) };
}

/** Every kind of object the repository and its cache store, as the fixture made them. */
async function targetsOf(o: { repoDir: string; cacheRoot: string; lock: string; b2: Added; b3: Added }, [s1, s2, s3]: [string, string, string]): Promise<Target[]> {
  const inRepo = (p: string, layout: Layout, needed: string[], kind: string, extra: Partial<Target> = {}): Target => {
    const rel = relative(pristine, p);
    const folder = rel.split('/')[1]!;
    return { kind, rel, name: folder === 'config' ? 'config' : `${folder}/${basename(p)}`, layout, needed, ...extra };
  };
  const inCache = (p: string, layout: Layout, kind: string): Target => {
    const rel = relative(pristine, p);
    return { kind, rel, name: `${rel.split('/')[2]}/${basename(p)}`, layout, needed: [], cached: true };
  };
  const { repoDir, cacheRoot, b2, b3 } = o;
  return [
    inRepo(join(repoDir, 'config'), sealed(23), [s1, s2, s3], 'config'),
    inRepo(await newestKeyFile(repoDir, 'recovery'), keyFile, [], 'key file (recovery, v1)', { opens: recoveryIdentity(code2) }),
    inRepo(await newestKeyFile(repoDir, 'write-only'), keyFile, [], 'key file (write-only, v2)', { opens: passwordIdentity(WRITE_ONLY_PASSWORD) }),
    inRepo(join(repoDir, 'locks', o.lock), sealed(23), [], 'lock (EBKO v1)'),
    inRepo(join(repoDir, 'snapshots', s2), sealed(23), [s2], 'snapshot (EBKO v1)'),
    inRepo(join(repoDir, 'snapshots', s3), sealed(100), [s3], 'newest snapshot (EBKO v2, write-only)'),
    inRepo(b2.index[0]!, sealed(23), [s2], 'index file (EBKO v1)', { orphans: [...b2.data, ...b2.tree].map(packName) }),
    inRepo(b3.index[0]!, sealed(100), [s3], 'index file (EBKO v2, write-only)', { orphans: [...b3.data, ...b3.tree].map(packName) }),
    inRepo(b2.tree[0]!, pack, [s2], 'tree pack'),
    inRepo(b2.data[0]!, pack, [s2], 'data pack (key source 0)'),
    inRepo(b3.data[0]!, pack, [s3], 'data pack (key source 1, write-only)'),
    inRepo((await repoFiles(repoDir, 'retention'))[0]!, sealed(23), [], 'retention object', { protects: true }),
    inCache(join(cacheRoot, 'snapshots', s2), sealed(23), 'cache: snapshot'),
    inCache(join(cacheRoot, 'index', basename(b2.index[0]!)), sealed(23), 'cache: index file'),
    inCache(join(cacheRoot, 'data', basename(b2.tree[0]!)), pack, 'cache: tree pack'),
  ];
}

/** The newest key file of `kind` (of recovery keys: the second, which code2 opens). */
async function newestKeyFile(repoDir: string, kind: string): Promise<string> {
  const files = [];
  for (const k of await repoFiles(repoDir, 'keys')) {
    const f = JSON.parse(await readFile(k, 'utf8')) as { kind: string; created: string };
    if (f.kind === kind) files.push({ k, created: f.created });
  }
  files.sort((a, b) => a.created.localeCompare(b.created));
  return files.at(-1)!.k;
}

const packName = (p: string) => `data/${basename(p)}`;

async function mutate(path: string, m: Mutation, layout: Layout): Promise<void> {
  if (m === 'delete') return rm(path);
  const b = await readFile(path);
  if (m === 'truncate') return truncate(path, b.length - 1);
  if (m === 'append') return writeFile(path, Buffer.concat([b, Buffer.from([0])]));
  b[layout(b)[m]]! ^= 1;
  await writeFile(path, b);
}

/** Every file and folder below `root`, relative: what the pristine state holds, so each case can return to it. */
async function filesUnder(root: string): Promise<Set<string>> {
  return new Set(await readdir(root, { recursive: true }));
}

/**
 * One case, in place on the pristine repository and cache (copying them for
 * each case cost more than the case): the object is mutated, the case runs
 * (writing nothing: no shared locks, a dry-run backup), then its bytes come back.
 */
async function runCase(t: Target, m: Mutation): Promise<Outcome> {
  const path = join(pristine, t.rel);
  const original = await readFile(path);
  await mutate(path, m, t.layout);
  const repoDir = join(pristine, 'repo');
  const named = (texts: string[], name = t.name) => texts.some((x) => x.includes(name));
  try {
    if (t.opens) await assertOpensNothing(repoDir, t, m);
    const checked = await checkNames(repoDir);
    if (checked instanceof Error) return refusedAtOpen(t, m, checked);
    const detected = named(checked) || (m === 'delete' && (t.orphans ?? []).some((p) => named(checked, p)));
    await restoresHonestly(t);
    const harmless = t.cached === true || (t.needed.length === 0 && !t.opens && !t.protects);
    return { detected, tolerated: !detected && harmless };
  } finally {
    await writeFile(path, original);
    await rm(join(dir, 'out'), { recursive: true, force: true });
  }
}

/** A damaged key file opens nothing: named, or WRONG_KEY once deleted. */
async function assertOpensNothing(repoDir: string, t: Target, m: Mutation): Promise<void> {
  const backend = await openBackend(repoDir, {});
  try {
    await assert.rejects(openBackupSession(backend, [t.opens!]), (e) => isEbakError(e, m === 'delete' ? 'WRONG_KEY' : 'AUTH_FAILED') && (m === 'delete' || e.message.includes(t.name)), `${t.kind}, ${m}`);
  } finally {
    await backend.close();
  }
}

/** The config is what every opening reads first: damaged, the repository does not open, and says why. */
function refusedAtOpen(t: Target, m: Mutation, e: Error): Outcome {
  assert.equal(t.kind, 'config', `only a damaged config stops the opening (${t.kind}, ${m}): ${String(e)}`);
  assert.ok(isEbakError(e, m === 'delete' ? 'NO_REPOSITORY' : 'AUTH_FAILED') || isEbakError(e, 'CORRUPT'), String(e));
  if (m !== 'delete') assert.ok(e.message.includes('config'), e.message);
  return { detected: true, tolerated: false };
}

/**
 * What `check --read-data` says (errors, warnings and warning events), as
 * the CLI opens it (no cache, a shared lock: so it reads the locks); the
 * error when the repository does not open.
 */
async function checkNames(repoDir: string): Promise<string[] | Error> {
  const backend = await openBackend(repoDir, {});
  try {
    const repo = await openRepository(backend, [recoveryIdentity(code)]).catch((e: Error) => e);
    if (repo instanceof Error) return repo;
    const seen: string[] = [];
    repo.setWarningSink((w) => seen.push(w));
    const res = await check(repo, { readData: true, onEvent: (e) => e.type === 'warning' && seen.push(e.message) });
    return [...seen, ...res.errors, ...res.warnings];
  } finally {
    await backend.close();
  }
}

/**
 * Every snapshot restored: never a wrong byte; complete unless it needs the
 * damaged object. "latest" is the newest snapshot that is not damaged; a
 * backup still runs (a dry run: it reads the parent and the index, and saves nothing).
 */
async function restoresHonestly(t: Target): Promise<void> {
  const { backend, repo } = await openBoth(join(pristine, 'repo'), t.cached ? join(pristine, 'cache') : undefined);
  try {
    await repo.loadIndex();
    for (const s of fx.snapshots) {
      const target = join(dir, 'out', s.id);
      const needed = t.needed.includes(s.id);
      const r = await restore(repo, repo.blobReader(pool), { snapshot: s.id, target }).catch((e: Error) => e);
      if (r instanceof Error) {
        assert.ok(isEbakError(r) && needed, `restore ${s.id} failed but does not need ${t.name}: ${String(r)}`);
        continue;
      }
      const got = await fileDigests(join(target, src)).catch(() => new Map<string, string>());
      for (const [p, h] of got) assert.equal(h, s.files.get(p), `${p} restored with wrong bytes (${t.kind})`);
      if (r.errors === 0 || !needed) assert.deepEqual(got, s.files, `${s.id} restores completely (${t.kind})`);
    }
    const damagedSnapshot = t.rel.includes('/snapshots/') && !t.cached;
    const intact = fx.snapshots.filter((s) => !(damagedSnapshot && t.needed.includes(s.id)));
    assert.equal((await repo.findSnapshot('latest')).id, intact.at(-1)!.id, `"latest" skips a damaged snapshot (${t.kind})`);
    assert.equal((await backup(repo, pool, { paths: [src], dryRun: true })).skipped, 'dry-run', 'a backup still runs');
  } finally {
    await backend.close();
  }
}

before(async () => {
  pool = new WorkerPool();
  fx = await makeFixture();
});
after(() => pool.close());

describe('the corruption matrix', () => {
  it('every object kind × every mutation: detected or harmless, never a wrong byte', { timeout: 300_000 }, async () => {
    const outcomes: { t: Target; m: Mutation; o: Outcome }[] = [];
    for (const t of fx.targets) for (const m of MUTATIONS) outcomes.push({ t, m, o: await runCase(t, m) });
    const detected = outcomes.filter((x) => x.o.detected).length;
    const tolerated = outcomes.filter((x) => x.o.tolerated).length;
    const unseen = outcomes.filter((x) => !x.o.detected && !x.o.tolerated);
    console.log(`corruption matrix: ${outcomes.length} cases, ${detected} detected, ${tolerated} tolerated, ${unseen.length} not detected`);
    console.log(`  D detected, T tolerated, - not detected; columns: ${MUTATIONS.join(', ')}`);
    for (const t of fx.targets) console.log(`  ${t.kind.padEnd(40)} ${outcomes.filter((x) => x.t === t).map((x) => (x.o.detected ? 'D' : x.o.tolerated ? 'T' : '-')).join(' ')}`);
    for (const x of unseen) console.log(`  not detected: ${x.t.kind}, ${x.m}`);
    assert.equal(outcomes.length, fx.targets.length * MUTATIONS.length);
    assert.deepEqual(await filesUnder(pristine), fx.files, 'the cases left the repository and cache as they found them');
    // What only the vault's repository head sees (test/vault): a key file, a snapshot or the retention object deleted.
    assert.deepEqual(unseen.map((x) => `${x.t.kind}, ${x.m}`), UNSEEN_WITHOUT_VAULT, 'only these deletions go unseen');
  });
});
