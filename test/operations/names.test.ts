/**
 * A directory's names as the walk and the scan read them (src/archiver/names.ts),
 * on real directories: a small one in one readdir call, a large one
 * streamed, both giving every name's bytes as latin1 text; an unreadable
 * one throws.
 */
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { dirNames } from '../../src/archiver/names.js';

const root = mkdtempSync(join(tmpdir(), 'ebak-names-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A directory holding `names` (bytes); its path as bytes. */
function dirOf(name: string, names: Buffer[]): Buffer {
  const dir = Buffer.from(join(root, name));
  mkdirSync(dir);
  for (const n of names) writeFileSync(Buffer.concat([dir, Buffer.from('/'), n]), '');
  return dir;
}

const sorted = (names: Iterable<string>) => [...names].sort();
const NOT_UTF8 = Buffer.from([0x61, 0xff, 0xfe]);

it('a small directory and a large one give every name, as the latin1 text of its bytes', () => {
  const few = [Buffer.from('a'), Buffer.from('é'), NOT_UTF8];
  const many = [...few, ...Array.from({ length: 4000 }, (_, i) => Buffer.from(`entry-with-a-long-name-to-grow-the-directory-${i}`))];
  for (const [label, names, small] of [['small', few, true], ['large', many, false]] as const) {
    const dir = dirOf(label, [...names]);
    const size = lstatSync(dir, { bigint: true }).size;
    assert.equal(size <= 64n * 1024n, small, `${label}: the directory's size (${size}) takes the ${small ? 'one-call' : 'streamed'} path`);
    assert.deepEqual(sorted(dirNames(dir, size)), sorted(names.map((n) => n.toString('latin1'))));
  }
});

it('a directory that cannot be read throws, on either path', () => {
  const gone = Buffer.from(join(root, 'missing'));
  assert.throws(() => [...dirNames(gone, 4096n)], { code: 'ENOENT' });
  assert.throws(() => [...dirNames(gone, 1n << 20n)], { code: 'ENOENT' });
});
