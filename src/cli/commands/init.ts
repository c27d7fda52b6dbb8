import { parseArgs } from 'node:util';
import { Repository } from '../../repository/repository.js';
import { formatRecoveryCode, generateRecoveryCode, type KeyKind } from '../../repository/format/keyfile.js';
import type { Command } from '../command.js';
import { backendFor } from '../session.js';
import { passwordFromEnv, prompt } from '../secrets.js';
import { EbakError } from '../../errors.js';

export const OFFLINE_WARNING =
  'a password key can be guessed offline by anyone who obtains the repository files; the key vault (ebak init --vault, coming) removes that weakness';

export const initCommand: Command = {
  name: 'init',
  summary: 'create a repository (shows a recovery key once)',
  usage: 'ebak init [<repository>] [--no-password]',
  async run(argv, ctx) {
    const { positionals, values } = parseArgs({ args: argv, allowPositionals: true, options: { 'no-password': { type: 'boolean' } } });
    const location = positionals[0] ?? ctx.globals.repo ?? ctx.env.EBAK_REPOSITORY;
    if (!location) throw new EbakError('USAGE', 'no repository given', { hint: 'ebak init <location>, or set EBAK_REPOSITORY' });
    const password = values['no-password'] ? undefined : await passwordFromEnv(ctx) ?? (await askPassword());
    const code = generateRecoveryCode();
    const envelopes: { kind: KeyKind; secret: string }[] = [{ kind: 'recovery', secret: code }];
    if (password) envelopes.push({ kind: 'password', secret: password });
    const backend = await backendFor(ctx, location);
    try {
      const repo = await Repository.init(backend, envelopes);
      ctx.out.line(`created ebak repository ${repo.config.id.slice(0, 10)} at ${backend.location}`);
      ctx.out.line('');
      ctx.out.line('Recovery key (shown only now; store it offline, it opens the repository on its own):');
      ctx.out.line(`  ${formatRecoveryCode(code)}`);
      if (password) ctx.out.warn(OFFLINE_WARNING);
      ctx.out.result({ id: repo.config.id, location: backend.location, recovery_key: formatRecoveryCode(code), password_key: Boolean(password) });
    } finally {
      await backend.close();
    }
    return 0;
  },
};

/** On a terminal, offer a password (empty: recovery key only). Elsewhere, none. */
async function askPassword(): Promise<string | undefined> {
  if (!process.stdin.isTTY) return undefined;
  const a = await prompt('password for this repository (empty: recovery key only): ');
  if (!a) return undefined;
  if ((await prompt('repeat the password: ')) !== a) throw new EbakError('USAGE', 'the passwords differ; nothing was created');
  return a;
}
