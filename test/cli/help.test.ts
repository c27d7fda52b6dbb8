/**
 * The generated help and the one-line flag errors: every command's help
 * lists every flag of the schema (in process), and the real CLI prints it
 * for `ebak help`, `ebak --help`, `ebak help <command>` and `ebak <command>
 * --help`; unknown flags (global or
 * not) are one line with a hint; `vault unlock --recovery-key-file` reaches
 * the vault.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadCommands } from '../../src/cli/registry.js';
import { EXITS, exitHelp } from '../../src/cli/exit.js';
import { commandHelp } from '../../src/config/help.js';
import { globalFlags, ownFlags, VARIABLES } from '../../src/config/index.js';
import { formatRecoveryCode, generateRecoveryCode } from '../../src/repository/format/keyfile.js';
import { assertCode, assertFailed, ebak, errorLines, jsonError, tempDir } from './harness.js';

const COMMANDS = await loadCommands();

function assertLists(stdout: string, flags: readonly string[], what: string): void {
  for (const f of flags) assert.ok(stdout.includes(f), `${what} lists ${f}`);
}

describe('generated help', () => {
  it('ebak help and ebak --help list every command, global flag, variable and exit code', async () => {
    for (const argv of [['help'], ['--help'], ['-h']]) {
      const r = await ebak(argv);
      assert.equal(r.code, 0, r.stderr);
      assertLists(r.stdout, COMMANDS.map((c) => `  ${c.name} `), argv[0]!);
      assertLists(r.stdout, globalFlags().map((f) => `--${f.name}`), argv[0]!);
      assertLists(r.stdout, VARIABLES.map((v) => v.name), argv[0]!);
      assertLists(r.stdout, EXITS.map((e) => `${e.exit} ${e.meaning}`), argv[0]!);
    }
  });

  it('every command has help listing each of its flags, with variable and default', () => {
    for (const c of COMMANDS) {
      const flags = ownFlags(c.name);
      const expected = [`usage: ${c.usage.split('\n')[0]}`, ...flags.map((f) => `--${f.name}`), ...flags.flatMap((f) => (f.env ? [f.env] : [])), ...flags.flatMap((f) => (f.default ? [f.default] : [])), '24 cancelled'];
      assertLists(commandHelp(c, exitHelp()), expected, `${c.name} help`);
    }
  });

  it('ebak help <command> and ebak <command> --help print that help (a sample of commands, through the CLI)', async () => {
    // The dispatch is one code path for every command (main.ts), so a sample of them proves it; the text itself is checked above for all.
    const sample = COMMANDS.filter((c) => ['backup', 'vault', 'retention', 'plan'].includes(c.name));
    assert.equal(sample.length, 4);
    for (const c of sample) {
      for (const argv of [[c.name, '--help'], ['help', c.name]]) {
        const r = await ebak(argv);
        assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, `${commandHelp(c, exitHelp())}\n`, argv.join(' '));
      }
    }
  });

  it('ebak --help loads no command module (each loaded them all: ~0.45 s); ebak help <command> loads that one', async () => {
    // A module hook that names each command module Node loads; `help ls` seeing ls.js shows it sees them.
    const hook = join(await tempDir(), 'hook.mjs');
    const onLoad = "export async function load(url, ctx, next) { if (url.includes('/cli/commands/')) process.stderr.write('loaded ' + url.slice(url.lastIndexOf('/') + 1) + '\\n'); return next(url, ctx); }";
    await writeFile(hook, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(onLoad)}));\n`);
    const loaded = async (argv: string[]) => {
      const r = await ebak(argv, { NODE_OPTIONS: `--import=${hook}` });
      assert.equal(r.code, 0, r.stderr);
      return r.stderr.split('\n').filter((l) => l.startsWith('loaded '));
    };
    assert.deepEqual(await loaded(['--help']), []);
    assert.deepEqual(await loaded(['help', 'ls']), ['loaded ls.js']);
  });

  it('help of a command that does not exist is a usage error', async () => {
    assertCode(await ebak(['help', 'bakcup', '--json']), 1, 'USAGE');
  });
});

describe('flag errors', () => {
  it('an unknown flag is one line naming it and a hint to the command help', async () => {
    const r = await ebak(['snapshots', '--bogus', '-r', '/nonexistent']);
    assertFailed(r, 1, '--bogus');
    assert.ok(r.stderr.includes('hint: run `ebak snapshots --help`'), r.stderr);
    assert.ok(!r.stderr.includes('as in') && !r.stderr.includes('To specify'), r.stderr);
  });

  it('an unknown global flag is named as a flag, not a command', async () => {
    // (--quiet was the example until it became a global flag: #17.)
    const r = await ebak(['--silently', 'snapshots']);
    assertFailed(r, 1, '--silently');
    assert.ok(!r.stderr.includes('unknown command'), r.stderr);
    assertCode(await ebak(['--silently', '--json']), 1, 'USAGE');
  });

  it('several bad values are reported together, as one line and a hint', async () => {
    const r = await ebak(['vault', 'serve', '--guess-limit', '500', '--registration', 'closed', '--max-accounts', '-3']);
    assert.equal(r.code, 1);
    assert.equal(errorLines(r.stderr).length, 1, r.stderr);
    for (const f of ['--guess-limit', '--registration', '--max-accounts']) assert.ok(r.stderr.includes(f), r.stderr);
    assertCode(await ebak(['backup', '/tmp', '--time', 'yesterday', '--json']), 1, 'USAGE');
  });

  it('vault unlock takes --recovery-key-file after the subcommand and goes on to the vault', async () => {
    const dir = await tempDir();
    const key = join(dir, 'recovery');
    await writeFile(key, `${formatRecoveryCode(generateRecoveryCode())}\n`);
    const r = await ebak(['vault', 'unlock', '--vault', 'https://127.0.0.1:1', '--account', 'a', '--recovery-key-file', key, '--json']);
    assert.equal(r.code === 0, false);
    assert.notEqual(jsonError(r).code, 'USAGE', r.stderr);
    assertCode(await ebak(['vault', 'unlock', '--vault', 'https://127.0.0.1:1', '--account', 'a', '--json']), 1, 'USAGE');
  });
});
