/**
 * Key policies of the simulated key service: the subset of the AWS KMS
 * key-policy language (IAM JSON policy grammar) that gates releasing secrets
 * to an attested enclave. A policy is parsed once, strictly (an unknown
 * element, operator or condition key is a malformed policy, never ignored),
 * and evaluated as IAM does: deny by default, an explicit Deny wins over any
 * Allow. Principal is accepted and ignored: the service has one caller
 * identity (its SigV4 credentials). docs/kms.md lists what is supported.
 */
import { EbakError } from '../../errors.js';

export type KmsAction = 'kms:Encrypt' | 'kms:Decrypt' | 'kms:GenerateDataKey';

/** What a request brings to the condition keys. Absent when the request has no Recipient. */
export interface RequestContext {
  action: KmsAction;
  /** Verified attestation PCRs by index, lower-case hex; ImageSha384 is PCR0. */
  recipient?: ReadonlyMap<number, string>;
}

type Operator = 'StringEquals' | 'StringEqualsIgnoreCase';
interface Condition { operator: Operator; key: string; values: string[] }
interface Statement { effect: 'Allow' | 'Deny'; actions: RegExp[]; conditions: Condition[] }
export interface KeyPolicy { readonly statements: readonly Statement[] }

const OPERATORS: readonly Operator[] = ['StringEquals', 'StringEqualsIgnoreCase'];
const CONDITION_KEY = /^kms:RecipientAttestation:(ImageSha384|PCR([0-9]|[12][0-9]|3[01]))$/i;
const STATEMENT_FIELDS = new Set(['Sid', 'Effect', 'Principal', 'Action', 'Resource', 'Condition']);

/** The policy a key gets when nobody gives one: every operation allowed, as KMS's default key policy allows the account. */
export const DEFAULT_POLICY = { Version: '2012-10-17', Statement: [{ Sid: 'Enable all operations', Effect: 'Allow', Principal: '*', Action: 'kms:*', Resource: '*' }] };

/** Parses a key policy (an object or its JSON text); a malformed one is EbakError USAGE. */
export function parsePolicy(doc: unknown): KeyPolicy {
  const value = typeof doc === 'string' ? parseJson(doc) : doc;
  const root = record(value, 'the policy');
  if (root.Version !== '2012-10-17') malformed('Version must be "2012-10-17"');
  const list = Array.isArray(root.Statement) ? root.Statement : [root.Statement];
  if (list.length === 0) malformed('Statement is empty');
  return { statements: list.map((s, i) => parseStatement(s, i)) };
}

/** IAM evaluation: any matching Deny denies, else any matching Allow allows, else deny. */
export function isAllowed(policy: KeyPolicy, request: RequestContext): boolean {
  const matching = policy.statements.filter((s) => matches(s, request));
  return !matching.some((s) => s.effect === 'Deny') && matching.some((s) => s.effect === 'Allow');
}

function matches(s: Statement, r: RequestContext): boolean {
  return s.actions.some((a) => a.test(r.action)) && s.conditions.every((c) => holds(c, r));
}

/** A condition key the request does not have makes the condition false (no ...IfExists operators here). */
function holds(c: Condition, r: RequestContext): boolean {
  const got = requestValue(c.key, r);
  if (got === undefined) return false;
  return c.values.some((v) => (c.operator === 'StringEquals' ? v === got : v.toLowerCase() === got.toLowerCase()));
}

function requestValue(key: string, r: RequestContext): string | undefined {
  if (r.recipient === undefined) return undefined;
  const m = CONDITION_KEY.exec(key)!;
  return r.recipient.get(m[1]!.toLowerCase() === 'imagesha384' ? 0 : Number(m[2]));
}

function parseStatement(value: unknown, i: number): Statement {
  const s = record(value, `Statement[${i}]`);
  for (const k of Object.keys(s)) if (!STATEMENT_FIELDS.has(k)) malformed(`Statement[${i}] has unsupported element ${k}`);
  if (s.Effect !== 'Allow' && s.Effect !== 'Deny') malformed(`Statement[${i}].Effect must be Allow or Deny`);
  if (s.Resource !== undefined && s.Resource !== '*') malformed(`Statement[${i}].Resource must be "*" in a key policy`);
  return { effect: s.Effect, actions: strings(s.Action, `Statement[${i}].Action`).map(actionPattern), conditions: parseConditions(s.Condition, i) };
}

function parseConditions(value: unknown, i: number): Condition[] {
  if (value === undefined) return [];
  const out: Condition[] = [];
  for (const [operator, block] of Object.entries(record(value, `Statement[${i}].Condition`))) {
    if (!OPERATORS.includes(operator as Operator)) malformed(`Statement[${i}] uses unsupported condition operator ${operator}`);
    for (const [key, values] of Object.entries(record(block, `Statement[${i}].Condition.${operator}`))) {
      if (!CONDITION_KEY.test(key)) malformed(`Statement[${i}] uses unsupported condition key ${key}`);
      out.push({ operator: operator as Operator, key, values: strings(values, `Statement[${i}].Condition.${operator}.${key}`) });
    }
  }
  return out;
}

/** IAM action names are case-insensitive; `*` matches any run of characters, `?` one. */
function actionPattern(action: string): RegExp {
  if (!/^(\*|kms:[A-Za-z*?]+)$/i.test(action)) malformed(`action ${JSON.stringify(action)} is not a kms: action`);
  const body = action.replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function strings(value: unknown, where: string): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || !list.every((v) => typeof v === 'string')) malformed(`${where} must be a string or a non-empty list of strings`);
  return list as string[];
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) malformed(`${where} must be a JSON object`);
  return value as Record<string, unknown>;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new EbakError('USAGE', 'the key policy is not JSON', { cause: e });
  }
}

function malformed(message: string): never {
  throw new EbakError('USAGE', `malformed key policy: ${message}`);
}
