/**
 * Writes test/vectors/retention.json (docs/format.md "Retention"): run
 * `npx tsc -p . && node dist/test/vectors/make-retention.js`. The salt and
 * nonce are fresh at each run, so the object's bytes differ at each
 * regeneration while its payload and every outcome do not. Outcomes are
 * stated here by hand; the file is not written when the code disagrees.
 */
import { writeFileSync } from 'node:fs';
import { encodeObject } from '../../src/repository/format/object.js';
import { Repository } from '../../src/repository/repository.js';
import { encodeRetention } from '../../src/retention/lockfile.js';
import { FILE, K, mutate, outcome, payloadOutcome, readObject, type RetentionVectors } from './retention-kit.js';

const A = 'a'.repeat(64);
const state = {
  seq: 3,
  lock: { mode: 'compliance' as const, min_days: 30, max_days: 365, set_at: '2026-01-01T00:00:00.000Z', changeable_until: '2026-01-04T00:00:00.000Z' },
  holds: [{ snapshot: A, reason: 'case 7', added_at: '2026-01-02T00:00:00.000Z' }],
};
const payload = encodeRetention(state);
const bytes = encodeObject(Repository.subKeys(K).object, 'retention', payload);
const lock = '{"mode":"governance","min_days":30,"set_at":"2026-01-01T00:00:00.000Z","changeable_until":"2026-01-04T00:00:00.000Z"}';
const v: RetentionVectors = {
  comment: 'docs/format.md "Retention"; made by test/vectors/make-retention.ts, checked by test/retention/vectors.test.ts',
  key: K.toString('hex'),
  object: { bytes: bytes.toString('hex'), payload: payload.toString(), state },
  mutations: [
    { name: 'magic byte flipped', xor: [0, 1], expect: 'AUTH_FAILED' },
    { name: 'object version 2 (sealable by a write-only credential: refused)', set: [4, 2], expect: 'UNSUPPORTED_VERSION' },
    { name: 'object version 3', set: [4, 3], expect: 'UNSUPPORTED_VERSION' },
    { name: 'type byte set to lock', set: [5, 4], expect: 'AUTH_FAILED' },
    { name: 'salt bit flipped', xor: [10, 0x10], expect: 'AUTH_FAILED' },
    { name: 'ciphertext bit flipped', xor: [40, 1], expect: 'AUTH_FAILED' },
    { name: 'tag bit flipped', xor: [-1, 0x80], expect: 'AUTH_FAILED' },
    { name: 'cut by one byte', cut: bytes.length - 1, expect: 'AUTH_FAILED' },
  ],
  payloads: [
    { name: 'no lock, no holds', payload: '{"version":1,"seq":1,"lock":null,"holds":[]}', expect: 'ok' },
    { name: 'a governance lock without max_days', payload: `{"version":1,"seq":2,"lock":${lock},"holds":[]}`, expect: 'ok' },
    { name: 'version 2', payload: '{"version":2,"seq":1,"lock":null,"holds":[]}', expect: 'UNSUPPORTED_VERSION' },
    { name: 'no version', payload: '{"seq":1,"lock":null,"holds":[]}', expect: 'UNSUPPORTED_VERSION' },
    { name: 'not JSON', payload: '{"version":1,', expect: 'CORRUPT' },
    { name: 'seq 0', payload: '{"version":1,"seq":0,"lock":null,"holds":[]}', expect: 'CORRUPT' },
    { name: 'unknown field', payload: '{"version":1,"seq":1,"lock":null,"holds":[],"extra":1}', expect: 'CORRUPT' },
    { name: 'lock missing (not null)', payload: '{"version":1,"seq":1,"holds":[]}', expect: 'CORRUPT' },
    { name: 'unknown mode', payload: `{"version":1,"seq":1,"lock":${lock.replace('governance', 'legal')},"holds":[]}`, expect: 'CORRUPT' },
    { name: 'min_days 0', payload: `{"version":1,"seq":1,"lock":${lock.replace('"min_days":30', '"min_days":0')},"holds":[]}`, expect: 'CORRUPT' },
    { name: 'max_days below min_days', payload: `{"version":1,"seq":1,"lock":${lock.replace('"min_days":30', '"min_days":30,"max_days":29')},"holds":[]}`, expect: 'CORRUPT' },
    { name: 'set_at not a time', payload: `{"version":1,"seq":1,"lock":${lock.replace('2026-01-01T00:00:00.000Z', 'yesterday')},"holds":[]}`, expect: 'CORRUPT' },
    { name: 'hold on a short id', payload: '{"version":1,"seq":1,"lock":null,"holds":[{"snapshot":"abcd","reason":"r","added_at":"2026-01-01T00:00:00.000Z"}]}', expect: 'CORRUPT' },
    { name: 'two holds on one snapshot', payload: `{"version":1,"seq":1,"lock":null,"holds":[${[1, 2].map(() => `{"snapshot":"${A}","reason":"r","added_at":"2026-01-01T00:00:00.000Z"}`).join(',')}]}`, expect: 'CORRUPT' },
    { name: 'empty reason', payload: `{"version":1,"seq":1,"lock":null,"holds":[{"snapshot":"${A}","reason":"","added_at":"2026-01-01T00:00:00.000Z"}]}`, expect: 'CORRUPT' },
  ],
};

const problems: string[] = [];
if (JSON.stringify(readObject(bytes)) !== JSON.stringify(state)) problems.push('the object does not decode to its state');
for (const m of v.mutations) if (outcome(mutate(bytes, m)) !== m.expect) problems.push(`${m.name}: got ${outcome(mutate(bytes, m))}, want ${m.expect}`);
for (const p of v.payloads) if (payloadOutcome(p.payload) !== p.expect) problems.push(`${p.name}: got ${payloadOutcome(p.payload)}, want ${p.expect}`);
if (problems.length) {
  console.error(problems.join('\n'));
  process.exit(1);
}
writeFileSync(FILE, `${JSON.stringify(v, null, 2)}\n`);
console.log(`wrote ${FILE.pathname}: 1 object, ${v.mutations.length} mutations, ${v.payloads.length} payloads`);
