/**
 * The retention object vectors' shape and the one reader both the generator
 * (make-retention.ts) and the check (test/retention/vectors.test.ts) run:
 * an `EBKO` v1 object of type 5 under K = 000102…1f, then its payload
 * (docs/format.md "Retention").
 */
import { isEbakError } from '../../src/errors.js';
import { decodeObject } from '../../src/repository/format/object.js';
import { Repository } from '../../src/repository/repository.js';
import { decodeRetention, type RetentionState } from '../../src/retention/lockfile.js';

export const K = Buffer.from([...Array(32).keys()]);
export const FILE = new URL('../../../test/vectors/retention.json', import.meta.url);

export interface RetentionVectors {
  comment: string;
  key: string;
  /** The stored object, its payload as text, and the state it decodes to. */
  object: { bytes: string; payload: string; state: unknown };
  /** Edits of the stored object: [offset, xor mask] or a cut, each with its outcome. */
  mutations: { name: string; xor?: [number, number]; set?: [number, number]; cut?: number; expect: string }[];
  /** Payloads (text) read as the object's content, each with its outcome. */
  payloads: { name: string; payload: string; expect: string }[];
}

/** "ok" or the error class, reading `bytes` as a stored retention object. */
export function outcome(bytes: Buffer): string {
  try {
    readObject(bytes);
    return 'ok';
  } catch (e) {
    if (isEbakError(e)) return e.code;
    throw e;
  }
}

export function readObject(bytes: Buffer): RetentionState {
  return decodeRetention(decodeObject(Repository.subKeys(K).object, 'retention', bytes, 'retention/vector'), 'retention/vector');
}

export function payloadOutcome(text: string): string {
  try {
    decodeRetention(Buffer.from(text), 'retention/vector');
    return 'ok';
  } catch (e) {
    if (isEbakError(e)) return e.code;
    throw e;
  }
}

export function mutate(bytes: Buffer, m: RetentionVectors['mutations'][number]): Buffer {
  const b = Buffer.from(m.cut === undefined ? bytes : bytes.subarray(0, m.cut));
  if (m.xor) b[m.xor[0] < 0 ? b.length + m.xor[0] : m.xor[0]]! ^= m.xor[1];
  if (m.set) b[m.set[0]] = m.set[1];
  return b;
}
