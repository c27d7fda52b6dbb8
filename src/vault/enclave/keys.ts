/**
 * The enclave's own keys: everything the vault must be able to do that the
 * host must not. All of them come from one 32-byte root secret R that only an
 * attested enclave obtains (root.ts: the key service releases it to an
 * attestation document whose measurements its policy names, encrypted to a
 * key that lives only in enclave memory).
 *
 *   records  HKDF(R, "ebak/v1/vault-records")  binds every sealed record (hsm seal v2)
 *   tickets  HKDF(R, "ebak/v1/vault-tickets")  registration tickets and step-up grants
 *
 * Tickets are AES-256-GCM over a small JSON body with its purpose in the AAD
 * and an expiry inside: the vault hands them to a client and takes them back
 * later, so any replica can check them and the host can neither read nor mint
 * one (the credential identifier a registration ticket carries stays secret).
 */
import { deriveKey, open, seal } from '../../crypto/index.js';
import { EbakError } from '../../errors.js';

export type TicketPurpose = 'register' | 'step-up';

export class EnclaveKeys {
  readonly records: Buffer;
  private readonly tickets: Buffer;

  constructor(root: Uint8Array) {
    if (root.length !== 32) throw new EbakError('VAULT', 'the enclave root secret must be 32 bytes');
    this.records = deriveKey(root, 'vault-records');
    this.tickets = deriveKey(root, 'vault-tickets');
  }

  /** A ticket valid for `seconds` from `now`. */
  issue(purpose: TicketPurpose, body: Record<string, string>, now: Date, seconds: number): string {
    const plain = Buffer.from(JSON.stringify({ ...body, exp: now.getTime() + seconds * 1000 }), 'utf8');
    return seal(this.tickets, plain, aad(purpose)).toString('base64url');
  }

  /** The ticket's body, or undefined when it is not ours, not for `purpose`, or expired. */
  check(purpose: TicketPurpose, ticket: string, now: Date): Record<string, string> | undefined {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(open(this.tickets, Buffer.from(ticket, 'base64url'), aad(purpose), 'ticket').toString('utf8')) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    if (typeof body.exp !== 'number' || body.exp <= now.getTime()) return undefined;
    const { exp: _exp, ...rest } = body;
    return rest as Record<string, string>;
  }
}

function aad(purpose: TicketPurpose): Buffer {
  return Buffer.from(`ebak/vault-ticket/v1\0${purpose}`, 'utf8');
}
