/**
 * Where passwords and recovery keys come from, in restic's order:
 * --password-file, EBAK_PASSWORD_FILE, EBAK_PASSWORD, then a prompt on a TTY.
 * A recovery key comes from --recovery-key-file (or EBAK_RECOVERY_KEY_FILE).
 * The variables are read through src/config/environment.ts.
 */
import { readFile } from 'node:fs/promises';
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

/** The password from flags or the environment, or undefined. */
export async function passwordFromEnv(ctx: Context): Promise<string | undefined> {
  const e = environment(ctx.env);
  const file = ctx.globals.passwordFile ?? e.passwordFile;
  if (file) return firstLine(file);
  return e.password;
}

/** The secret that opens an existing repository. */
export async function secretFor(ctx: Context): Promise<Secret> {
  const rk = ctx.globals.recoveryKeyFile ?? environment(ctx.env).recoveryKeyFile;
  if (rk) return { recoveryCode: normalizeRecoveryCode(await firstLine(rk)) };
  const pw = await passwordFromEnv(ctx);
  if (pw !== undefined) return { password: pw };
  if (!process.stdin.isTTY) throw new EbakError('USAGE', 'no password given', { hint: 'set EBAK_PASSWORD or EBAK_PASSWORD_FILE, or pass --recovery-key-file' });
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
