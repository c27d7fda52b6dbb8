/**
 * `ebak attestation verify <file> --root <pem> ...`: verifies a raw Nitro
 * attestation document offline and prints its decoded fields as JSON.
 */
import { readFile } from 'node:fs/promises';
import { documentToJson, loadRoot, verifyAttestation, DEFAULT_MAX_AGE_SECONDS } from '../../attestation/index.js';
import { parseFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import type { Command, Context } from '../command.js';

const USAGE = 'ebak attestation verify <file> --root <pem> [--at <ISO time>] [--nonce <hex>] [--expect-pcr <i>=<hex>]... [--allow-debug] [--max-age <seconds>]';

export const attestationCommand: Command = {
  name: 'attestation',
  summary: 'verify an enclave attestation document offline',
  usage: USAGE,
  async run(argv: string[], ctx: Context): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub !== 'verify') throw usage(`unknown attestation subcommand ${sub === undefined ? '(none)' : `"${sub}"`}`);
    const fields = documentToJson(await verifyFile(rest));
    ctx.out.line(JSON.stringify(fields, null, 2));
    ctx.out.result(fields);
    return 0;
  },
};

async function verifyFile(argv: string[]) {
  const { values, lists, switches, positionals } = parseFlags('attestation', argv);
  if (positionals.length !== 1) throw usage('give exactly one document file');
  if (values.root === undefined) throw usage('--root <pem> is required (the AWS Nitro root G1 or the dev CA root)');
  const root = loadRoot(await readInput(values.root));
  return verifyAttestation(await readInput(positionals[0]!), {
    root,
    ...(values.at === undefined ? {} : { at: parseTime(values.at) }),
    ...(values.nonce === undefined ? {} : { nonce: parseHex(values.nonce, '--nonce') }),
    pcrs: Object.fromEntries((lists['expect-pcr'] ?? []).map(parsePcr)),
    allowDebug: switches['allow-debug'] === true,
    maxAgeSeconds: values['max-age'] === undefined ? DEFAULT_MAX_AGE_SECONDS : parseSeconds(values['max-age']),
  });
}

async function readInput(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new EbakError(missing ? 'NOT_FOUND' : 'IO', `cannot read ${path}`, { cause: e });
  }
}

function parseTime(text: string): Date {
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(at.getTime())) throw usage(`--at must be an ISO 8601 time, got "${text}"`);
  return at;
}

function parseHex(text: string, flag: string): Buffer {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw usage(`${flag} must be hex, got "${text}"`);
  return Buffer.from(text, 'hex');
}

function parsePcr(text: string): [number, Buffer] {
  const match = /^(\d{1,2})=([0-9a-fA-F]+)$/.exec(text);
  if (!match) throw usage(`--expect-pcr must be <index>=<hex>, got "${text}"`);
  return [Number(match[1]), parseHex(match[2]!, '--expect-pcr')];
}

function parseSeconds(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) throw usage(`--max-age must be whole seconds, got "${text}"`);
  return n;
}

function usage(message: string): EbakError {
  return new EbakError('USAGE', message, { hint: `usage: ${USAGE}` });
}
