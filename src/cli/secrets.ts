/**
 * Where passwords and recovery keys come from, in restic's order:
 * --password-file or --password-command (not both), then
 * EBAK_PASSWORD_FILE or EBAK_PASSWORD_COMMAND, then EBAK_PASSWORD, then a
 * prompt on a TTY. Each source gives its first line; an empty one is refused
 * (it would make, or try, an empty password).
 * A recovery key comes from --recovery-key-file (or EBAK_RECOVERY_KEY_FILE).
 * The variables are read through src/config/environment.ts.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { environment } from '../config/index.js';
import { EbakError } from '../errors.js';
import { mapIoError } from '../util/fs.js';
import { normalizeRecoveryCode } from '../repository/format/keyfile.js';
import type { Secret } from '../repository/repository.js';
import type { Context } from './command.js';

/** The first line of a secret file; a missing or unreadable file is a typed error naming it. */
export async function firstLine(path: string): Promise<string> {
  const text = await readFile(path, 'utf8').catch((e) => { throw mapIoError(e, path); });
  return text.split(/\r?\n/)[0]!;
}

/** For the few settings read before anything is async (the repository location). */
export function firstLineSync(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw mapIoError(e, path);
  }
  const line = text.split(/\r?\n/)[0]!;
  if (line === '') throw new EbakError('USAGE', `${path}: the first line is empty`);
  return line;
}

/** The password from flags or the environment, or undefined. */
export async function passwordFromEnv(ctx: Context): Promise<string | undefined> {
  const g = ctx.globals;
  if (g.passwordFile !== undefined && g.passwordCommand !== undefined) throw new EbakError('USAGE', '--password-file and --password-command are mutually exclusive');
  const e = environment(ctx.env);
  const file = g.passwordFile ?? (g.passwordCommand === undefined ? e.passwordFile : undefined);
  const command = g.passwordCommand ?? (file === undefined ? e.passwordCommand : undefined);
  if (file !== undefined) return nonEmpty(await firstLine(file), file);
  if (command !== undefined) return nonEmpty(await commandLine(command), `--password-command ${JSON.stringify(command)}`);
  return e.password;
}

function nonEmpty(password: string, from: string): string {
  if (password === '') throw new EbakError('USAGE', `${from} gave an empty password`, { hint: 'an empty password is never used' });
  return password;
}

/** The first line a shell command prints; a failing command is an error naming it, never an empty password. */
async function commandLine(command: string): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('/bin/sh', ['-c', command], { encoding: 'utf8', maxBuffer: 1 << 20 });
    return stdout.split(/\r?\n/)[0]!;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    throw new EbakError('USAGE', `--password-command ${JSON.stringify(command)} failed${typeof code === 'number' ? ` (exit ${code})` : ''}`);
  }
}

/** The secret that opens an existing repository. */
export async function secretFor(ctx: Context): Promise<Secret> {
  const rk = ctx.globals.recoveryKeyFile ?? environment(ctx.env).recoveryKeyFile;
  if (rk) return { recoveryCode: normalizeRecoveryCode(await firstLine(rk)) };
  const pw = await passwordFromEnv(ctx);
  if (pw !== undefined) return { password: pw };
  if (!process.stdin.isTTY) throw new EbakError('USAGE', 'no password given', { hint: 'set EBAK_PASSWORD or EBAK_PASSWORD_FILE, or pass --recovery-key-file; for a repository kept in a key vault, run `ebak login` first' });
  return { password: await prompt('enter password for repository: ') };
}

/** Reads a line from the terminal without echoing it. */
export async function prompt(question: string): Promise<string> {
  process.stderr.write(question);
  const stdin = process.stdin;
  stdin.setRawMode?.(true);
  stdin.resume();
  let answer = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      const onData = (buf: Buffer) => {
        for (const ch of buf.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done(() => resolve(answer));
          if (ch === '\u0003') return done(() => reject(new EbakError('USAGE', 'cancelled')));
          if (ch === '\u007f') answer = answer.slice(0, -1);
          else answer += ch;
        }
      };
      const done = (fn: () => void) => {
        stdin.off('data', onData);
        fn();
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode?.(false);
    stdin.pause();
    process.stderr.write('\n');
  }
}

/** The password for a step-up login (restic's order: --password-file, EBAK_PASSWORD_FILE, EBAK_PASSWORD, a prompt). */
export async function stepUpPassword(ctx: Context): Promise<string> {
  const pw = (await passwordFromEnv(ctx)) ?? (process.stdin.isTTY ? await prompt('vault password (to confirm this change): ') : undefined);
  if (!pw) throw new EbakError('USAGE', 'this change needs the password (a fresh login)', { hint: 'set EBAK_PASSWORD or EBAK_PASSWORD_FILE, or run on a terminal' });
  return pw;
}
