/**
 * The simulated PCR0 input: the vault's built code bundle. Starting at the
 * compiled enclave application (dist/src/vault/enclave/app.js), it follows every
 * relative import through dist/, and records each package the closure
 * imports by name and installed version. The bundle is, in path order,
 * "file:<path relative to dist>\0<length>\0<bytes>" per file and
 * "package:<name>@<version>\0" per package, so any changed vault file,
 * dependency file or package version changes PCR0. `ebak vault measure`
 * prints measure(bundle) the way `nitro-cli build-enclave` prints an image's,
 * and with --platform sev-snp the simulated launch measurement of the same bundle.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, snpLaunchMeasurement, type Measurements } from '../attestation/index.js';
import { EbakError } from '../errors.js';

const HERE = dirname(fileURLToPath(import.meta.url)); // dist/src/vault
const DIST = resolve(HERE, '../..');
const ROOT = resolve(DIST, '..');
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** The bundle bytes for the vault entry `entry` (default: the enclave application). */
export function vaultBundle(entry = join(HERE, 'enclave/app.js')): Buffer {
  const files = new Map<string, Buffer>();
  const packages = new Set<string>();
  const visit = (path: string): void => {
    if (files.has(path)) return;
    let text: Buffer;
    try {
      text = readFileSync(path);
    } catch (e) {
      throw new EbakError('NOT_FOUND', `cannot read ${path} for the vault measurement; build first (npm run build)`, { cause: e });
    }
    files.set(path, text);
    for (const m of text.toString('utf8').matchAll(IMPORT)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) visit(resolve(dirname(path), spec));
      else if (!spec.startsWith('node:') && !builtinModules.includes(spec)) packages.add(packageName(spec));
    }
  };
  visit(entry);
  const parts: Buffer[] = [];
  for (const path of [...files.keys()].sort()) {
    const bytes = files.get(path)!;
    parts.push(Buffer.from(`file:${relative(DIST, path)}\0${bytes.length}\0`), bytes);
  }
  for (const name of [...packages].sort()) parts.push(Buffer.from(`package:${name}@${packageVersion(name)}\0`));
  return Buffer.concat(parts);
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

export function vaultMeasurements(): Measurements {
  return measure(vaultBundle());
}

/** The simulated SEV-SNP launch measurement of this build's vault image, hex (attestation/snp/simulate.ts says how it stands in for AMD's). */
export function vaultSnpMeasurement(): string {
  return snpLaunchMeasurement(vaultBundle()).toString('hex');
}

/** Pinned PCRs from a measurement file (`ebak vault measure --json` or nitro-cli's output). */
export function pcrsFromMeasurements(text: string, what: string): Record<number, string> {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new EbakError('USAGE', `${what} is not JSON`, { cause: e });
  }
  const obj = ((m as { Measurements?: unknown })?.Measurements ?? m) as Record<string, unknown>;
  const out: Record<number, string> = {};
  for (const [k, v] of Object.entries(obj ?? {})) {
    const i = /^PCR(\d+)$/.exec(k);
    if (i && typeof v === 'string') out[Number(i[1])] = v;
  }
  if (![0, 1, 2].every((i) => /^[0-9a-f]{96}$/.test(out[i] ?? ''))) throw new EbakError('USAGE', `${what} must give PCR0, PCR1 and PCR2 as 96 hex digits`);
  return out;
}

/**
 * The key policy that releases the vault's secrets to this build's enclave
 * only (AWS KMS key-policy syntax; the simulated key service evaluates the
 * same document): anyone may Encrypt (provisioning the HSM PIN), Decrypt and
 * GenerateDataKey need a Recipient attestation with these PCRs (ImageSha384 is PCR0).
 */
export function vaultKeyPolicy(m: Measurements = vaultMeasurements()): unknown {
  return {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Provisioning may encrypt', Effect: 'Allow', Principal: '*', Action: 'kms:Encrypt', Resource: '*' },
      {
        Sid: 'Only the attested ebak vault may decrypt', Effect: 'Allow', Principal: '*', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*',
        Condition: { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': m.PCR0, 'kms:RecipientAttestation:PCR1': m.PCR1, 'kms:RecipientAttestation:PCR2': m.PCR2 } },
      },
    ],
  };
}
