/** OPAQUE rejects malformed messages by throwing: that is the client's fault, a bad_request. */
import { VaultRefusal } from '../protocol.js';

export function opaqueCall<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch {
    throw malformed(what);
  }
}

export function malformed(what: string): VaultRefusal {
  return new VaultRefusal('bad_request', `the ${what} is not a valid OPAQUE message`);
}
