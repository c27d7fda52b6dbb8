/**
 * `ebak generate`: shell completions and man pages from the option schema,
 * restic's command and flags (`-` writes a completion to stdout).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bashCompletion, fishCompletion, manPage, parseFlags, zshCompletion } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { makeDirs, mapIoError } from '../../util/fs.js';
import { VERSION } from '../../version.js';
import type { Command, Context, ListedCommand } from '../command.js';
import { exitCodes } from '../exit.js';

const USAGE = 'ebak generate [--bash-completion FILE] [--zsh-completion FILE] [--fish-completion FILE] [--man DIR]   (FILE "-": stdout)';

/**
 * The command, over every command's description: `allCommands` is the
 * registry's (registry.ts passes it in, so this module need not import the
 * registry that loads it).
 */
export function generateCommand(allCommands: () => Promise<ListedCommand[]>): Command {
  return {
    name: 'generate',
    usage: USAGE,
    async run(argv, ctx) {
      const { values } = parseFlags('generate', argv, ctx.env, { positionals: false });
      const commands = await allCommands();
      const outputs: [string | undefined, () => string][] = [
        [values['bash-completion'], () => bashCompletion(commands)],
        [values['zsh-completion'], () => zshCompletion(commands)],
        [values['fish-completion'], () => fishCompletion(commands)],
      ];
      if (outputs.every(([file]) => file === undefined) && values.man === undefined) throw new EbakError('USAGE', 'generate needs at least one of --bash-completion, --zsh-completion, --fish-completion, --man', { hint: USAGE });
      for (const [file, text] of outputs) if (file !== undefined) await write(file, text());
      if (values.man !== undefined) await writeManPages(values.man, commands, ctx);
      return 0;
    },
  };
}

async function writeManPages(dir: string, commands: ListedCommand[], ctx: Context): Promise<void> {
  await makeDirs(dir);
  const pages: [string, string][] = [['ebak.1', manPage(commands, undefined, VERSION, exitCodes())], ...commands.map((c): [string, string] => [`ebak-${c.name}.1`, manPage(commands, c, VERSION, exitCodes())])];
  for (const [name, page] of pages) await write(join(dir, name), page);
  ctx.out.line(`wrote ${pages.length} man pages to ${dir}`);
}

async function write(file: string, text: string): Promise<void> {
  if (file === '-') process.stdout.write(text);
  else await writeFile(file, text).catch((e) => { throw mapIoError(e, file); });
}
