/** Random damage to real and simulated documents, SNP reports and TPM quotes never crashes a verifier: always an ATTESTATION error. */
import { describe, it } from 'node:test';
import {
  SimulatedNsm, awsNitroRootG1, createDevCa, parseEventLog, verifyAttestation, verifySnpReport, verifyTpmQuote, type TpmVerifyOptions, type VerifyOptions,
} from '../../src/attestation/index.js';
import { failsWith, loadVectors, prng } from './helpers.js';
import { loadSnpVectors, snpOptions, tpmFile } from './snp-vectors.js';

const FLIPS = 150;
const TRUNCATIONS = 60;
const NOW = new Date('2026-03-01T12:00:00Z');
const ca = createDevCa(NOW);

const targets: [string, Uint8Array, VerifyOptions][] = [
  ...loadVectors().map((v): [string, Uint8Array, VerifyOptions] =>
    [v.file, v.bytes, { root: awsNitroRootG1(), at: v.at, maxAgeSeconds: v.maxAgeSeconds, allowDebug: true }]),
  ['simulated', new SimulatedNsm(ca, { bundle: Buffer.from('fuzz') }).attest({ nonce: Buffer.alloc(16), userData: Buffer.alloc(64, 7) }, NOW),
    { root: ca.root.cert, at: NOW }],
];

describe('fuzz', () => {
  targets.forEach(([name, bytes, options], n) => {
    it(`${name}: ${FLIPS} random byte changes and ${TRUNCATIONS} truncations all fail cleanly`, () => {
      verifyAttestation(bytes, options); // the undamaged document verifies
      const random = prng(0xeba0 + n);
      for (let k = 0; k < FLIPS; k++) {
        const damaged = Uint8Array.from(bytes);
        const at = Math.floor(random() * bytes.length);
        damaged[at]! ^= 1 + Math.floor(random() * 255); // never a no-op
        failsWith(() => verifyAttestation(damaged, options));
      }
      for (let k = 0; k < TRUNCATIONS; k++) {
        const cut = bytes.subarray(0, Math.floor(random() * bytes.length));
        failsWith(() => verifyAttestation(cut, options), 'cose');
      }
      const extended = Uint8Array.from([...bytes, 0]);
      failsWith(() => verifyAttestation(extended, options), 'cose');
    });
  });
});

describe('fuzz: SEV-SNP reports and TPM quotes', () => {
  const snp = loadSnpVectors();
  const [quote, quoteOptions] = gcpQuote();

  snp.forEach((v, n) => {
    it(`${v.file}: ${FLIPS} random byte changes and ${TRUNCATIONS} truncations all fail cleanly`, () => {
      const options = snpOptions(v, { allowDebug: true });
      verifySnpReport(v.bytes, options);
      const random = prng(0x5e50 + n);
      for (let k = 0; k < FLIPS; k++) {
        const damaged = Uint8Array.from(v.bytes);
        damaged[Math.floor(random() * v.bytes.length)]! ^= 1 + Math.floor(random() * 255);
        failsWith(() => verifySnpReport(damaged, options));
      }
      for (let k = 0; k < TRUNCATIONS; k++) failsWith(() => verifySnpReport(v.bytes.subarray(0, Math.floor(random() * v.bytes.length)), options), 'report');
    });
  });

  it(`a TPMS_ATTEST, its signature and an event log: random damage and truncations fail cleanly`, () => {
    verifyTpmQuote(quote, quoteOptions);
    const random = prng(0x7e50);
    const damage = (bytes: Uint8Array) => {
      const out = Uint8Array.from(bytes);
      out[Math.floor(random() * bytes.length)]! ^= 1 + Math.floor(random() * 255);
      return out;
    };
    const cut = (bytes: Uint8Array) => bytes.subarray(0, Math.floor(random() * bytes.length));
    for (let k = 0; k < FLIPS; k++) {
      failsWith(() => verifyTpmQuote(damage(quote), quoteOptions));
      failsWith(() => verifyTpmQuote(quote, { ...quoteOptions, signature: damage(quoteOptions.signature) }));
    }
    for (let k = 0; k < TRUNCATIONS; k++) {
      failsWith(() => verifyTpmQuote(cut(quote), quoteOptions), 'quote');
      failsWith(() => verifyTpmQuote(quote, { ...quoteOptions, signature: cut(quoteOptions.signature) }), 'quote', 'signature');
    }
    const log = tpmFile('gce-cos85-event-log.bin');
    for (let k = 0; k < TRUNCATIONS; k++) {
      const n = Math.floor(random() * log.length);
      try {
        parseEventLog(log.subarray(0, n)); // a cut between two events is a shorter, valid log
      } catch (e) {
        failsWith(() => { throw e; }, 'event-log');
      }
      try {
        parseEventLog(damage(log));
      } catch (e) {
        failsWith(() => { throw e; }, 'event-log');
      }
    }
  });
});

function gcpQuote(): [Buffer, TpmVerifyOptions] {
  const json = JSON.parse(tpmFile('vaportpm-gcp-amd-fixture.json').toString('utf8')) as { nonce: string; pcrs: { sha256: Record<string, string> } };
  return [tpmFile('gcp-amd-cvm-quote.attest'), {
    signature: tpmFile('gcp-amd-cvm-quote-sig.der'), akCert: tpmFile('gcp-amd-cvm-ak-chain.pem'), chain: tpmFile('gcp-amd-cvm-ak-chain.pem'),
    nonce: Buffer.from(json.nonce, 'hex'), pcrs: new Map(Object.entries(json.pcrs.sha256).map(([i, v]) => [Number(i), Buffer.from(v, 'hex')])),
    at: new Date('2026-03-01T00:00:00Z'),
  }];
}
