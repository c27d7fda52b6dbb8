/** The real SEV-SNP reports of test/fixtures/sev-snp, as vectors.json lists them (shared by the SNP tests). */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SnpVerifyOptions } from '../../src/attestation/index.js';
import { FIXTURES as NITRO } from './helpers.js';

export const SNP = join(NITRO, '..', 'sev-snp');
export const TPM = join(NITRO, '..', 'tpm');
export const snpFile = (name: string) => readFileSync(join(SNP, name));
export const tpmFile = (name: string) => readFileSync(join(TPM, name));

export interface SnpVector {
  file: string;
  bytes: Buffer;
  cert: string;
  chain: string;
  at: Date;
  expect: 'success' | 'debug';
  version: number;
  product: string;
  signing_key: string;
  policy: string;
  reported_tcb: string;
  measurement?: string;
  report_data?: string;
  chip_id?: string;
}

/** Every report in the folder (the HCL wrapper aside) is listed: a missing one fails, as age's loader slip taught. */
export function loadSnpVectors(): SnpVector[] {
  const table = JSON.parse(snpFile('vectors.json').toString('utf8')) as { vectors: (Omit<SnpVector, 'bytes' | 'at'> & { at: string })[] };
  const vectors: SnpVector[] = table.vectors.map((v) => ({ ...v, at: new Date(v.at), bytes: snpFile(v.file) }));
  const files = readdirSync(SNP).filter((f) => f.endsWith('.bin') && !f.includes('-hcl-')).sort();
  assert.deepEqual(vectors.map((v) => v.file).sort(), files, 'vectors.json must list every report');
  assert.equal(vectors.length, 8, 'expected 8 real SNP reports');
  return vectors;
}

export const snpOptions = (v: SnpVector, extra: Partial<SnpVerifyOptions> = {}): SnpVerifyOptions =>
  ({ cert: snpFile(v.cert), chain: snpFile(v.chain), at: v.at, allowDebug: v.expect === 'debug', ...extra });
