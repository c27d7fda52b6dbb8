/** Random damage to real and simulated documents never crashes the verifier: always an ATTESTATION error. */
import { describe, it } from 'node:test';
import { SimulatedNsm, awsNitroRootG1, createDevCa, verifyAttestation, type VerifyOptions } from '../../src/attestation/index.js';
import { failsWith, loadVectors, prng } from './helpers.js';

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
