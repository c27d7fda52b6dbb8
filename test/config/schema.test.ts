/**
 * The option schema (src/config): every flag a command reads is declared
 * with help text, defaults owned elsewhere agree, the parser reports every
 * problem at once and unknown flags in one line, flags take their variables.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MAX_AGE_SECONDS } from '../../src/attestation/index.js';
import { loadCommands } from '../../src/cli/registry.js';
import { awsEnvironment, environment, FLAGS, GLOBAL, globalFlags, ownFlags, parseFlags, parseGlobals, s3Environment, VARIABLES } from '../../src/config/index.js';
import { isEbakError, type EbakError } from '../../src/errors.js';
import { DEFAULT_MODULE } from '../../src/hsm/index.js';

const COMMANDS = await loadCommands();

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const usage = (e: unknown): e is EbakError => isEbakError(e, 'USAGE');
const caught = (fn: () => unknown): EbakError => {
  try {
    fn();
  } catch (e) {
    assert.ok(usage(e), String(e));
    return e;
  }
  assert.fail('no error');
};

/** The commands each file of src/cli/commands/ serves (vault.ts holds three). */
const COMMANDS_OF_FILE: Record<string, string[]> = { 'vault.ts': ['vault', 'device', 'audit'], 'vault-serve.ts': ['vault'] };

describe('the schema', () => {
  const names = new Set(COMMANDS.map((c) => c.name));

  it('names only real commands, and every flag has help text', () => {
    assert.ok(FLAGS.length >= 49, `only ${FLAGS.length} flags`);
    for (const f of FLAGS) {
      assert.ok(f.help.length > 10, `--${f.name} has no description`);
      assert.ok(f.commands.length > 0, `--${f.name} belongs to no command`);
      for (const c of f.commands) assert.ok(c === GLOBAL || names.has(c), `--${f.name}: no command ${c}`);
      if (f.env !== undefined) assert.match(f.env, /^EBAK_[A-Z0-9_]+$/);
    }
  });

  it('gives no command the same flag twice', () => {
    for (const c of names) {
      const flags = [...ownFlags(c), ...globalFlags()].flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]);
      assert.deepEqual(flags, [...new Set(flags)], c);
    }
  });

  it('declares every flag the command files read (values, lists, switches)', () => {
    const dir = join(ROOT, 'src/cli/commands');
    let reads = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      const commands = COMMANDS_OF_FILE[file] ?? [file.replace(/\.ts$/, '')];
      const declared = new Set(commands.flatMap((c) => ownFlags(c).map((f) => f.name)));
      for (const m of text.matchAll(/\b(?:(?:values|lists|switches|v)\.([a-z]+)\b(?!\()|(?:values|lists|switches|v|s|sw)\['([a-z0-9-]+)'\])/g)) {
        const name = m[1] ?? m[2]!;
        reads++;
        assert.ok(declared.has(name), `src/cli/commands/${file} reads --${name}, which the schema does not give ${commands.join('/')}`);
      }
    }
    assert.ok(reads > 60, `only ${reads} flag reads found`);
  });

  it('lists every EBAK_* variable the source reads, once, with help text', () => {
    const listed = VARIABLES.map((v) => v.name);
    assert.deepEqual(listed, [...new Set(listed)]);
    const src = readFileSync(join(ROOT, 'src/config/environment.ts'), 'utf8');
    for (const m of src.matchAll(/env\.(EBAK_[A-Z0-9_]+)|'(EBAK_[A-Z0-9_]+)'/g)) assert.ok(listed.includes(m[1] ?? m[2]!), m[0]);
    for (const v of VARIABLES) assert.ok(v.help.length > 10, v.name);
  });

  it('writes the defaults other modules own as they are', () => {
    assert.equal(FLAGS.find((f) => f.name === 'module')!.default, DEFAULT_MODULE);
    assert.equal(FLAGS.find((f) => f.name === 'max-age')!.default, String(DEFAULT_MAX_AGE_SECONDS));
  });
});

describe('parseFlags', () => {
  it('reads long, inline, short, repeated and boolean flags, and positionals after --', () => {
    const p = parseFlags('restore', ['latest', '-t', '/out', '--include=/a', '--include', '/b', '--allow-outside-symlinks', '--', '--not-a-flag']);
    assert.deepEqual(p.positionals, ['latest', '--not-a-flag']);
    assert.equal(p.values.target, '/out');
    assert.deepEqual(p.lists.include, ['/a', '/b']);
    assert.equal(p.switches['allow-outside-symlinks'], true);
  });

  it('reports several bad values at once', () => {
    const e = caught(() => parseFlags('vault', ['serve', '--guess-limit', '0', '--lockout', 'never', '--mode', 'cloud', '--uses']));
    for (const flag of ['--guess-limit', '--lockout', '--mode', '--uses']) assert.ok(e.hint!.includes(flag), `${flag} is reported: ${e.hint}`);
    assert.ok(!e.message.includes('\n'), 'one line');
  });

  it('names an unknown flag in one line, with a hint to the help, never Node parseArgs text', () => {
    for (const argv of [['--bogus'], ['/tmp', '--bogus=1'], ['-q']]) {
      const e = caught(() => parseFlags('backup', argv));
      assert.ok(!e.message.includes('\n') && !e.message.includes('parseArgs') && !e.message.includes('as in'), e.message);
      assert.ok(e.message.includes(argv.find((a) => a.startsWith('-'))!.split('=')[0]!));
      assert.ok(e.hint!.includes('ebak backup --help'));
    }
    caught(() => parseFlags('device', ['list', '--guess-limit', '5'])); // device takes none of vault's flags
    caught(() => parseFlags('check', ['--read-data=yes']));
    caught(() => parseFlags('check', ['extra'], {}, { positionals: false }));
  });

  it('fills an absent flag from its variable; the flag wins; a boolean variable is on at 1', () => {
    const env = { EBAK_VAULT: 'https://v', EBAK_VAULT_ROOT: 'root.pem', EBAK_VAULT_ALLOW_DEBUG: '1' };
    const p = parseFlags('login', ['--vault-root', 'mine.pem'], env);
    assert.equal(p.values.vault, 'https://v');
    assert.equal(p.values['vault-root'], 'mine.pem');
    assert.equal(p.switches['allow-debug'], true);
    assert.equal(parseFlags('login', [], { EBAK_VAULT_ALLOW_DEBUG: '0' }).switches['allow-debug'], false);
  });
});

describe('global flags and the environment', () => {
  it('takes global flags wherever they stand and leaves the rest in order', () => {
    const g = parseGlobals(['-r', '/repo', 'vault', 'unlock', '--recovery-key-file', 'k', '--json', '--account', 'a', '--', '--json']);
    assert.equal(g.values.repo, '/repo');
    assert.equal(g.values['recovery-key-file'], 'k');
    assert.equal(g.switches.json, true);
    assert.deepEqual(g.rest, ['vault', 'unlock', '--account', 'a', '--', '--json']);
    caught(() => parseGlobals(['backup', '-r']));
  });

  it('reads the environment once, typed; every bad S3 variable is reported', () => {
    const e = environment({ HOME: '/home/u', EBAK_PASSWORD: '', EBAK_HSM_PIN: '1234' });
    assert.equal(e.password, undefined);
    assert.equal(e.configDir, '/home/u/.config/ebak');
    assert.equal(e.hsmPin, '1234');
    assert.equal(environment({ EBAK_CONFIG_DIR: '/c' }).configDir, '/c');
    const s3 = s3Environment({ EBAK_S3_RESTORE_TIMEOUT: '2', EBAK_S3_OBJECT_LOCK_DAYS: '3', EBAK_S3_OBJECT_LOCK_MODE: 'GOVERNANCE' });
    assert.deepEqual(s3, { archiveRestore: { timeoutMs: 2000 }, objectLock: { days: 3, mode: 'GOVERNANCE' } });
    const bad = caught(() => s3Environment({ EBAK_S3_RESTORE_TIMEOUT: '-1', EBAK_S3_RESTORE_POLL_SECONDS: 'x' }));
    assert.ok(bad.hint!.includes('EBAK_S3_RESTORE_TIMEOUT') && bad.hint!.includes('EBAK_S3_RESTORE_POLL_SECONDS'));
  });

  it('reads the AWS tools\' variables into typed settings: keys only as a pair, an empty value is none', () => {
    assert.deepEqual(awsEnvironment({}), { caFiles: [] });
    assert.deepEqual(awsEnvironment({ AWS_ACCESS_KEY_ID: 'id', AWS_PROFILE: '', AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-west-2', NODE_EXTRA_CA_CERTS: 'b.pem', AWS_CA_BUNDLE: 'a.pem' }),
      { region: 'eu-west-1', defaultRegion: 'us-west-2', caFiles: ['a.pem', 'b.pem'] });
    assert.deepEqual(awsEnvironment({ AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't', AWS_PROFILE: 'p' }),
      { credentials: { accessKeyId: 'id', secretAccessKey: 's', sessionToken: 't' }, profile: 'p', caFiles: [] });
    for (const name of ['AWS_ACCESS_KEY_ID', 'AWS_REGION', 'NODE_EXTRA_CA_CERTS']) assert.ok(VARIABLES.some((v) => v.name === name), `${name} is in the schema`);
  });
});
