/**
 * `ebak attestation verify <file> [--platform nitro|sev-snp|tpm] ...`:
 * verifies an attestation offline — a Nitro document, an AMD SEV-SNP report
 * or a TPM 2.0 quote (the format is recognised from the bytes when
 * --platform is absent) — and prints its decoded fields as JSON.
 */
import { readFile } from 'node:fs/promises';
import {
  DEFAULT_MAX_AGE_SECONDS, documentToJson, loadRoot, looksLikeTpmsAttest, REPORT_SIZE, snpReportToJson, SUPPORTED_VERSIONS,
  tpmQuoteToJson, verifyAttestation, verifySnpReport, verifyTpmQuote, parseTcb,
} from '../../attestation/index.js';
import { parseFlags, type ParsedFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import type { Command, Context } from '../command.js';

const USAGE = [
  'ebak attestation verify <file> [--platform nitro] --root <pem> [--at <ISO time>] [--nonce <hex>] [--expect-pcr <i>=<hex>]... [--allow-debug] [--max-age <seconds>]',
  'ebak attestation verify <report.bin> --platform sev-snp --cert <VCEK|VLEK> --chain <ASK+ARK pem> [--expect-measurement <hex>] [--report-data <hex>] [--min-tcb BL/TEE/SNP/UCODE] [--at <ISO time>] [--allow-debug]',
  'ebak attestation verify <quote.attest> --platform tpm --signature <sig> --ak-cert <cert> --chain <pem> --nonce <hex> [--expect-pcr <i>=<hex>]... [--event-log <file>] [--at <ISO time>]',
].join('\n       ');

type Platform = 'nitro' | 'sev-snp' | 'tpm';
type Flags = ParsedFlags<'attestation'>;

export const attestationCommand: Command = {
  name: 'attestation',
  usage: USAGE,
  async run(argv: string[], ctx: Context): Promise<number> {
    const [sub, ...rest] = argv;
    if (sub !== 'verify') throw usage(`unknown attestation subcommand ${sub === undefined ? '(none)' : `"${sub}"`}`);
    const fields = await verifyFile(rest);
    ctx.out.line(JSON.stringify(fields, null, 2));
    ctx.out.result(fields);
    return 0;
  },
};

async function verifyFile(argv: string[]): Promise<Record<string, unknown>> {
  const flags = parseFlags('attestation', argv);
  if (flags.positionals.length !== 1) throw usage('give exactly one document file');
  const bytes = await readInput(flags.positionals[0]!);
  const platform = (flags.values.platform as Platform | undefined) ?? recognise(bytes);
  if (platform === 'sev-snp') return verifySnp(bytes, flags);
  if (platform === 'tpm') return verifyTpm(bytes, flags);
  return verifyNitro(bytes, flags);
}

/** CBOR COSE_Sign1 (an array of 4, tagged 18 or not) → nitro; TPM_GENERATED → tpm; an SNP report's size and version → sev-snp. */
function recognise(bytes: Buffer): Platform {
  if (bytes[0] === 0x84 || (bytes[0] === 0xd2 && bytes[1] === 0x84)) return 'nitro';
  if (looksLikeTpmsAttest(bytes)) return 'tpm';
  if (bytes.length === REPORT_SIZE && SUPPORTED_VERSIONS.includes(bytes.readUInt32LE(0))) return 'sev-snp';
  throw usage('the file is neither a Nitro document, a TPM quote nor an SEV-SNP report: give --platform');
}

async function verifyNitro(bytes: Buffer, { values, lists, switches }: Flags) {
  const root = loadRoot(await readInput(required(values.root, '--root <pem> (the AWS Nitro root G1 or the dev CA root)')));
  return documentToJson(verifyAttestation(bytes, {
    root,
    ...atOption(values.at),
    ...(values.nonce === undefined ? {} : { nonce: parseHex(values.nonce, '--nonce') }),
    pcrs: Object.fromEntries((lists['expect-pcr'] ?? []).map(parsePcr)),
    allowDebug: switches['allow-debug'] === true,
    maxAgeSeconds: values['max-age'] === undefined ? DEFAULT_MAX_AGE_SECONDS : parseSeconds(values['max-age']),
  }));
}

async function verifySnp(bytes: Buffer, { values, switches }: Flags) {
  return snpReportToJson(verifySnpReport(bytes, {
    cert: await readInput(required(values.cert, '--cert <VCEK or VLEK>')),
    chain: await readInput(required(values.chain, '--chain <ASK+ARK pem>')),
    ...atOption(values.at),
    allowDebug: switches['allow-debug'] === true,
    ...(values['expect-measurement'] === undefined ? {} : { measurement: parseHex(values['expect-measurement'], '--expect-measurement', 48) }),
    ...(values['report-data'] === undefined ? {} : { reportData: parseHex(values['report-data'], '--report-data', 64) }),
    ...(values['min-tcb'] === undefined ? {} : { minTcb: parseTcb(values['min-tcb']) }),
  }));
}

async function verifyTpm(bytes: Buffer, { values, lists }: Flags) {
  return tpmQuoteToJson(verifyTpmQuote(bytes, {
    signature: await readInput(required(values.signature, '--signature <file>')),
    akCert: await readInput(required(values['ak-cert'], '--ak-cert <cert>')),
    chain: await readInput(required(values.chain, '--chain <pem>')),
    nonce: parseHex(required(values.nonce, '--nonce <hex>'), '--nonce'),
    pcrs: new Map((lists['expect-pcr'] ?? []).map(parsePcr)),
    ...(values['event-log'] === undefined ? {} : { eventLog: await readInput(values['event-log']) }),
    ...atOption(values.at),
  }));
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw usage(`${what} is required`);
  return value;
}

async function readInput(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new EbakError(missing ? 'NOT_FOUND' : 'IO', `cannot read ${path}`, { cause: e });
  }
}

function atOption(text: string | undefined): { at?: Date } {
  if (text === undefined) return {};
  const at = new Date(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(at.getTime())) throw usage(`--at must be an ISO 8601 time, got "${text}"`);
  return { at };
}

/** Hex bytes; with `max`, at most that many (the SNP fields). */
function parseHex(text: string, flag: string, max = Infinity): Buffer {
  if (!/^([0-9a-fA-F]{2})*$/.test(text)) throw usage(`${flag} must be hex, got "${text}"`);
  if (text.length / 2 > max) throw usage(`${flag} is at most ${max} bytes`);
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
