/**
 * Rendering the problems a parse or the environment reader collected: one
 * problem is the message itself; several are one line naming the count, the
 * hint listing each (a CLI error stays one line plus a hint).
 */
import { EbakError } from '../errors.js';

export function problemsError(problems: readonly string[], hint: string): EbakError {
  if (problems.length === 1) return new EbakError('USAGE', problems[0]!, { hint });
  return new EbakError('USAGE', `${problems.length} problems with the options given`, { hint: `${problems.join('; ')}; ${hint}` });
}
