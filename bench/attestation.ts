/**
 * Verification time of Nitro attestation documents (real AWS-signed and
 * simulated), and the simulated NSM's signing time.
 * Run: npx tsc -p . && node dist/bench/attestation.js [iterations]
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SimulatedNsm, awsNitroRootG1, createDevCa, parseCoseSign1, parseDocument, verifyAttestation,
} from '../src/attestation/index.js';

const iterations = Number(process.argv[2] ?? 300);
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'nitro');

function time(label: string, fn: () => unknown): void {
  for (let i = 0; i < 20; i++) fn(); // warm up
  const samples: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t = process.hrtime.bigint();
    fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  const pct = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))]!.toFixed(3);
  console.log(`${label.padEnd(44)} median ${pct(0.5)} ms  p90 ${pct(0.9)} ms  (${(1000 / Number(pct(0.5))).toFixed(0)}/s)`);
}

const real = readFileSync(join(fixtures, 'cape-2022-09-15.cbor'));
const root = awsNitroRootG1();
const at = new Date('2022-09-15T17:44:24Z');
const now = new Date();
const ca = createDevCa(now);
const nsm = new SimulatedNsm(ca, { bundle: Buffer.from('bench') });
const sim = nsm.attest({ nonce: Buffer.alloc(32), publicKey: Buffer.alloc(120, 1) }, now);

console.log(`node ${process.version}, ${iterations} iterations each`);
time('parse only (real, 4690 B)', () => parseDocument(parseCoseSign1(real).payload));
time('verify real AWS document (5-cert chain)', () => verifyAttestation(real, { root, at }));
time('verify simulated document (3-cert chain)', () => verifyAttestation(sim, { root: ca.root.cert, at: now }));
time('simulated NSM attest (leaf reused)', () => nsm.attest({ nonce: Buffer.alloc(32) }, now));
time('create dev CA (2 keys, 2 certificates)', () => createDevCa(now));
