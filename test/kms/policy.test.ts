// Key-policy evaluation: deny by default, Allow with and without conditions, an explicit Deny wins,
// a RecipientAttestation condition is false without a Recipient, and malformed policies are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAllowed, parsePolicy, type RequestContext } from '../../src/kms/simulated/policy.js';

const IMAGE = 'ab'.repeat(48);
const PCR8 = 'cd'.repeat(48);
const attested = (pcrs: Record<number, string>): ReadonlyMap<number, string> => new Map(Object.entries(pcrs).map(([k, v]) => [Number(k), v]));
const policy = (...Statement: unknown[]) => parsePolicy({ Version: '2012-10-17', Statement });
const allow = (Action: unknown, Condition?: unknown) => ({ Effect: 'Allow', Principal: '*', Action, Resource: '*', ...(Condition ? { Condition } : {}) });
const deny = (Action: unknown, Condition?: unknown) => ({ ...allow(Action, Condition), Effect: 'Deny' });
const decrypt = (recipient?: ReadonlyMap<number, string>): RequestContext => ({ action: 'kms:Decrypt', ...(recipient ? { recipient } : {}) });
const imageIs = (v: string | string[]) => ({ StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': v } });

describe('evaluation', () => {
  it('denies by default: no statement for the action', () => {
    assert.equal(isAllowed(policy(allow('kms:Encrypt')), decrypt()), false);
  });

  it('allows a listed action, a wildcard, case-insensitively', () => {
    assert.equal(isAllowed(policy(allow(['kms:Encrypt', 'kms:Decrypt'])), decrypt()), true);
    assert.equal(isAllowed(policy(allow('kms:*')), { action: 'kms:GenerateDataKey' }), true);
    assert.equal(isAllowed(policy(allow('kms:Generate*')), { action: 'kms:GenerateDataKey' }), true);
    assert.equal(isAllowed(policy(allow('KMS:decrypt')), decrypt()), true);
    assert.equal(isAllowed(policy(allow('kms:Generate*')), decrypt()), false);
  });

  it('a condition holds only for a matching attested value (ignoring case, any of several values)', () => {
    const p = policy(allow('kms:Decrypt', imageIs(['00'.repeat(48), IMAGE.toUpperCase()])));
    assert.equal(isAllowed(p, decrypt(attested({ 0: IMAGE }))), true);
    assert.equal(isAllowed(p, decrypt(attested({ 0: 'ef'.repeat(48) }))), false);
  });

  it('a missing condition key is false: no Recipient, or a PCR the document lacks', () => {
    assert.equal(isAllowed(policy(allow('kms:Decrypt', imageIs(IMAGE))), decrypt()), false);
    const p8 = policy(allow('kms:Decrypt', { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:PCR8': PCR8 } }));
    assert.equal(isAllowed(p8, decrypt(attested({ 0: IMAGE }))), false);
    assert.equal(isAllowed(p8, decrypt(attested({ 0: IMAGE, 8: PCR8 }))), true);
  });

  it('every condition of a statement must hold; StringEquals is case-sensitive', () => {
    const both = { StringEqualsIgnoreCase: { 'kms:RecipientAttestation:ImageSha384': IMAGE }, StringEquals: { 'kms:RecipientAttestation:PCR8': PCR8 } };
    assert.equal(isAllowed(policy(allow('kms:Decrypt', both)), decrypt(attested({ 0: IMAGE, 8: PCR8 }))), true);
    assert.equal(isAllowed(policy(allow('kms:Decrypt', both)), decrypt(attested({ 0: IMAGE, 8: PCR8.toUpperCase() }))), false);
    assert.equal(isAllowed(policy(allow('kms:Decrypt', both)), decrypt(attested({ 0: IMAGE }))), false);
  });

  it('an explicit Deny wins over any Allow; a Deny whose condition fails does not apply', () => {
    assert.equal(isAllowed(policy(allow('kms:*'), deny('kms:Decrypt')), decrypt()), false);
    const denyImage = policy(allow('kms:*'), deny('kms:Decrypt', imageIs(IMAGE)));
    assert.equal(isAllowed(denyImage, decrypt(attested({ 0: IMAGE }))), false);
    assert.equal(isAllowed(denyImage, decrypt(attested({ 0: 'ef'.repeat(48) }))), true);
    assert.equal(isAllowed(denyImage, decrypt()), true); // the condition key is missing, so the Deny does not match
  });

  it('a single Statement object is accepted as well as a list', () => {
    assert.equal(isAllowed(parsePolicy(JSON.stringify({ Version: '2012-10-17', Statement: allow('kms:Decrypt') })), decrypt()), true);
  });
});

describe('parsing refuses what it does not understand (USAGE)', () => {
  const bad: [string, unknown][] = [
    ['not JSON', '{'],
    ['old Version', { Version: '2008-10-17', Statement: [allow('kms:*')] }],
    ['no statements', { Version: '2012-10-17', Statement: [] }],
    ['Effect', { Version: '2012-10-17', Statement: [{ ...allow('kms:*'), Effect: 'allow' }] }],
    ['NotAction', { Version: '2012-10-17', Statement: [{ ...allow('kms:*'), NotAction: 'kms:Decrypt' }] }],
    ['a Resource other than *', { Version: '2012-10-17', Statement: [{ ...allow('kms:*'), Resource: 'arn:aws:kms:x' }] }],
    ['a non-kms action', { Version: '2012-10-17', Statement: [allow('s3:GetObject')] }],
    ['an unknown operator', { Version: '2012-10-17', Statement: [allow('kms:*', { StringLike: { 'kms:RecipientAttestation:PCR0': '*' } })] }],
    ['an unknown condition key', { Version: '2012-10-17', Statement: [allow('kms:*', { StringEquals: { 'kms:EncryptionContext:x': 'y' } })] }],
    ['PCR32', { Version: '2012-10-17', Statement: [allow('kms:*', { StringEquals: { 'kms:RecipientAttestation:PCR32': 'y' } })] }],
    ['a non-string value', { Version: '2012-10-17', Statement: [allow('kms:*', imageIs(5 as unknown as string))] }],
  ];
  for (const [name, doc] of bad) it(name, () => assert.throws(() => parsePolicy(doc), { code: 'USAGE' }));
});
