/**
 * Nitro-only parts of the vault: the NSM attestation call. Node has no ioctl,
 * so the vault asks a tiny helper inside the enclave image (deploy/nitro:
 * `nsm-attest`, built from aws-nitro-enclaves-nsm-api) that reads a CBOR-free
 * request on argv (hex public key, user data, nonce) and writes the raw
 * COSE_Sign1 document on stdout. PCRs come from the same helper (`describe`).
 * UNTESTED here: this machine has no /dev/nsm (docs/vault.md "Nitro").
 */
import { execFileSync } from 'node:child_process';
import { parseCoseSign1, parseDocument } from '../../attestation/index.js';
import { EbakError } from '../../errors.js';
import type { Attester } from '../server/http.js';

export class NsmAttester implements Attester {
  readonly moduleId: string;
  readonly pcrs: ReadonlyMap<number, Uint8Array>;

  constructor(private readonly helper: string) {
    // One document at boot tells the module id and PCRs this enclave reports.
    const doc = parseDocument(parseCoseSign1(this.attest({})).payload);
    this.moduleId = doc.moduleId;
    this.pcrs = doc.pcrs;
  }

  attest(request: { publicKey?: Uint8Array; userData?: Uint8Array; nonce?: Uint8Array }): Uint8Array {
    const hex = (b?: Uint8Array) => (b ? Buffer.from(b).toString('hex') : '-');
    try {
      return execFileSync(this.helper, [hex(request.publicKey), hex(request.userData), hex(request.nonce)], { maxBuffer: 64 * 1024 });
    } catch (e) {
      throw new EbakError('ATTESTATION', `the NSM helper ${this.helper} failed: ${(e as Error).message.split('\n')[0]}`, { cause: e, hint: 'run the vault inside a Nitro Enclave built from deploy/nitro' });
    }
  }
}
