/**
 * The retention object vectors (test/vectors/retention.json, docs/format.md
 * "Retention"): the stored object decodes to its state, its payload
 * re-encodes to the same bytes, and every mutation and payload meets its
 * stated outcome. The counts are asserted, so a missing file tests nothing.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { decodeRetention, encodeRetention } from '../../src/retention/lockfile.js';
import { FILE, K, mutate, outcome, payloadOutcome, readObject, type RetentionVectors } from '../vectors/retention-kit.js';

const v = JSON.parse(readFileSync(FILE, 'utf8')) as RetentionVectors;

describe('retention object vectors', () => {
  it('holds what docs/format.md lists', () => {
    assert.equal(v.key, K.toString('hex'));
    assert.deepEqual([v.mutations.length, v.payloads.length], [8, 15]);
  });

  it('the object decodes to its state; decode → encode gives the payload back', () => {
    const bytes = Buffer.from(v.object.bytes, 'hex');
    assert.deepEqual(readObject(bytes), v.object.state);
    assert.equal(encodeRetention(decodeRetention(Buffer.from(v.object.payload), 'p')).toString(), v.object.payload);
  });

  for (const m of v.mutations) it(`object: ${m.name} → ${m.expect}`, () => assert.equal(outcome(mutate(Buffer.from(v.object.bytes, 'hex'), m)), m.expect));
  for (const p of v.payloads) it(`payload: ${p.name} → ${p.expect}`, () => assert.equal(payloadOutcome(p.payload), p.expect));
});
