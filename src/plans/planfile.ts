/**
 * Reading a plan file: YAML (eemeli/yaml, with its line counter) into the
 * validated model of plan.ts. A YAML syntax error is reported with its line
 * like any other problem; duplicate keys are errors, not "last one wins".
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, isNode } from 'yaml';
import { EbakError } from '../errors.js';
import { mapIoError } from '../util/fs.js';
import { validatePlanFile, type PlanFile } from './plan.js';

export async function readPlanFile(path: string): Promise<PlanFile> {
  const text = await readFile(path, 'utf8').catch((e) => { throw mapIoError(e, path); });
  return parsePlanFile(text, path);
}

export function parsePlanFile(text: string, name: string): PlanFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const errors = doc.errors.map((e) => `line ${lines.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  if (errors.length === 1) throw new EbakError('USAGE', `${name}: ${errors[0]}`, { hint: 'a value starting with @ (a schedule macro) must be quoted: schedule: "@daily"' });
  if (errors.length > 1) throw new EbakError('USAGE', `${name}: ${errors.length} problems`, { hint: errors.join('; ') });
  return validatePlanFile(doc.toJS(), (path) => {
    const node = doc.getIn(path, true);
    const start = isNode(node) ? node.range?.[0] : undefined;
    return start === undefined ? undefined : lines.linePos(start).line;
  }, name);
}
