/**
 * `ebak generate`: completions and man pages from the schema, exercised by
 * the real shells: bash completes through the generated function, fish
 * through `complete -C`, zsh parses it (`zsh -n`; driving zsh's completion
 * system needs a pseudo-terminal, not done here), and groff formats every
 * man page without a warning.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertFailed, ebak, tempDir } from './harness.js';

const dir = await tempDir('ebak-generate-');
const files = { bash: join(dir, 'ebak.bash'), zsh: join(dir, '_ebak'), fish: join(dir, 'ebak.fish'), man: join(dir, 'man') };
const r = await ebak(['generate', '--bash-completion', files.bash, '--zsh-completion', files.zsh, '--fish-completion', files.fish, '--man', files.man]);
assert.equal(r.code, 0, r.stderr);

/** What the generated bash function offers for the words typed so far (the last one being completed). */
function bashComplete(...words: string[]): string[] {
  const script = `source ${files.bash}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _ebak; printf '%s\\n' "\${COMPREPLY[@]}"`;
  return execFileSync('bash', ['-c', script], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
}

function fishComplete(line: string): string[] {
  return execFileSync('fish', ['-c', `source ${files.fish}; complete -C '${line}'`], { encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.split('\t')[0]!).sort();
}

describe('ebak generate', () => {
  it('bash completes commands, a command\'s flags and the global flags, skipping a global flag\'s value', () => {
    assert.deepEqual(bashComplete('ebak', 'fi'), ['find']);
    assert.deepEqual(bashComplete('ebak', '-r', 'repo', 'sna'), ['snapshots']);
    assert.deepEqual(bashComplete('ebak', 'find', '--ig'), ['--ignore-case']);
    assert.ok(bashComplete('ebak', 'restore', '--').includes('--target'));
    assert.ok(bashComplete('ebak', 'restore', '--').includes('--repo'), 'global flags after the command');
    assert.ok(!bashComplete('ebak', 'backup', '--').includes('--target'), 'another command\'s flag is not offered');
  });

  it('fish completes commands and flags; zsh parses the script', () => {
    assert.deepEqual(fishComplete('ebak fi'), ['find']);
    assert.ok(fishComplete('ebak restore --t').includes('--target'));
    assert.ok(!fishComplete('ebak backup --t').includes('--target'));
    execFileSync('zsh', ['-n', files.zsh]);
  });

  it('writes a man page per command that groff formats without warnings, listing its flags', async () => {
    const pages = (await readdir(files.man)).sort();
    assert.ok(pages.includes('ebak.1') && pages.includes('ebak-restore.1') && pages.includes('ebak-generate.1'));
    for (const p of pages) {
      const lint = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', join(files.man, p)], { encoding: 'utf8' });
      assert.equal(lint.status, 0, p);
      assert.equal(lint.stderr, '', `${p}: groff warns`);
    }
    const restore = execFileSync('groff', ['-man', '-Tutf8', join(files.man, 'ebak-restore.1')], { encoding: 'utf8' }).replace(/.\x08/g, '');
    assert.match(restore, /--target/);
    assert.match(restore, /EXIT STATUS/);
    assert.match(await readFile(join(files.man, 'ebak.1'), 'utf8'), /ebak\\-find/);
  });

  it('writes a completion to stdout with -, and needs something to write', async () => {
    const out = await ebak(['generate', '--bash-completion', '-']);
    assert.equal(out.code, 0);
    assert.match(out.stdout, /complete -o default -F _ebak ebak/);
    assertFailed(await ebak(['generate']), 1, '--bash-completion');
  });
});
