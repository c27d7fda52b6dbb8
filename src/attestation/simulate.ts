/**
 * The simulated Nitro Security Module: signs attestation documents with a
 * DevCa leaf in exactly the Nitro format (document.ts), so clients run the
 * same verifier against the dev root that they run against AWS's root.
 */
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { EbakError } from '../errors.js';
import { issueLeaf, type DevCa, type Leaf } from './devca.js';
import { ES384_PROTECTED, LIMITS, encodeCoseSign1, encodeDocument, sigStructure } from './document.js';

/** PCR values as `nitro-cli build-enclave` prints them under "Measurements". */
export interface Measurements {
  HashAlgorithm: string;
  PCR0: string;
  PCR1: string;
  PCR2: string;
}

/** Stands in for the kernel and boot ramdisk a real enclave image measures into PCR1. */
const SIMULATED_KERNEL = 'ebak simulated nitro enclave: kernel and boot ramdisk, v1';

/**
 * PCR0 = SHA-384 of the code bundle (the whole image); PCR1 = SHA-384 of the
 * simulated platform label; PCR2 = SHA-384 of the bundle under a PCR2 label (the
 * application). Real EIF measurements differ; these only need to be stable and
 * to change with the code.
 */
export function measure(bundle: Uint8Array): Measurements {
  const sha384 = (...parts: (string | Uint8Array)[]) => parts.reduce((h, p) => h.update(p), createHash('sha384')).digest('hex');
  return {
    HashAlgorithm: 'Sha384 { ... }',
    PCR0: sha384(bundle),
    PCR1: sha384(SIMULATED_KERNEL),
    PCR2: sha384('ebak simulated nitro enclave: application, v1\n', bundle),
  };
}

export interface AttestRequest {
  /** The enclave's TLS public key, DER SubjectPublicKeyInfo (1..1024 bytes). */
  publicKey?: Uint8Array;
  userData?: Uint8Array;
  nonce?: Uint8Array;
}

export interface SimulatedNsmOptions {
  bundle: Uint8Array;
  /** Extra PCR values, e.g. PCR8 (signing certificate); 0..2 always come from `bundle`. */
  extraPcrs?: Readonly<Record<number, Uint8Array>>;
  moduleId?: string;
  /** Leaf lifetime; a new leaf is issued when less than a third of it remains. */
  leafLifetimeSeconds?: number;
}

export class SimulatedNsm {
  readonly moduleId: string;
  readonly pcrs: Map<number, Uint8Array>;
  private leaf: Leaf | undefined;

  constructor(private readonly ca: DevCa, private readonly options: SimulatedNsmOptions) {
    this.moduleId = options.moduleId ?? `sim-${randomBytes(8).toString('hex')}-enc${randomBytes(8).toString('hex')}`;
    this.pcrs = simulatedPcrs(options.bundle, options.extraPcrs ?? {});
  }

  /** One attestation document (COSE_Sign1 bytes) dated `now`. */
  attest(request: AttestRequest, now: Date = new Date()): Uint8Array {
    checkSize('public_key', request.publicKey, 1, LIMITS.publicKey);
    checkSize('user_data', request.userData, 0, LIMITS.userData);
    checkSize('nonce', request.nonce, 0, LIMITS.nonce);
    const leaf = this.currentLeaf(now);
    const payload = encodeDocument({
      moduleId: this.moduleId,
      digest: 'SHA384',
      timestamp: now.getTime(),
      pcrs: this.pcrs,
      certificate: leaf.cert.raw,
      cabundle: [this.ca.root.cert.raw, this.ca.intermediate.cert.raw],
      publicKey: request.publicKey ?? null,
      userData: request.userData ?? null,
      nonce: request.nonce ?? null,
    });
    return signPayload(payload, leaf.key);
  }

  private currentLeaf(now: Date): Leaf {
    const lifetime = this.options.leafLifetimeSeconds ?? 3 * 3600;
    const t = now.getTime();
    const fresh = this.leaf && t >= Date.parse(this.leaf.cert.validFrom) && t + (lifetime * 1000) / 3 <= Date.parse(this.leaf.cert.validTo);
    if (!fresh) this.leaf = issueLeaf(this.ca, this.moduleId, now, lifetime);
    return this.leaf!;
  }
}

/** COSE_Sign1 over `payload` with ES384 (RFC 9052 §4.4), untagged as NSM sends it. */
export function signPayload(payload: Uint8Array, key: KeyObject): Uint8Array {
  const signature = sign('sha384', sigStructure(ES384_PROTECTED, payload), { key, dsaEncoding: 'ieee-p1363' });
  return encodeCoseSign1({ protectedHeader: ES384_PROTECTED, payload, signature });
}

/** PCR0..15 as a real enclave reports them: unused registers are 48 zero bytes. */
function simulatedPcrs(bundle: Uint8Array, extra: Readonly<Record<number, Uint8Array>>): Map<number, Uint8Array> {
  const m = measure(bundle);
  const pcrs = new Map<number, Uint8Array>();
  for (let i = 0; i < 16; i++) pcrs.set(i, new Uint8Array(48));
  [m.PCR0, m.PCR1, m.PCR2].forEach((hex, i) => pcrs.set(i, Buffer.from(hex, 'hex')));
  for (const [key, value] of Object.entries(extra)) {
    const index = Number(key);
    if (index < 3 || index > 15 || value.length !== 48) throw new EbakError('USAGE', `extra PCR${key} must be index 3..15 with 48 bytes`);
    pcrs.set(index, value);
  }
  return pcrs;
}

function checkSize(name: string, value: Uint8Array | undefined, min: number, max: number): void {
  if (value !== undefined && (value.length < min || value.length > max)) {
    throw new EbakError('USAGE', `attestation ${name} must be ${min}..${max} bytes, got ${value.length}`);
  }
}
