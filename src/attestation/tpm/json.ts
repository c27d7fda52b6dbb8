/** The decoded fields of a verified TPM quote as JSON: byte strings hex, 64-bit values decimal strings. */
import { HASH_ALGS } from './reader.js';
import type { VerifiedTpmQuote } from './verify.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

export function tpmQuoteToJson(v: VerifiedTpmQuote): Record<string, unknown> {
  const q = v.quote;
  return {
    platform: 'tpm',
    qualified_signer: hex(q.qualifiedSigner),
    nonce: hex(q.extraData),
    clock: q.clock.toString(),
    reset_count: q.resetCount,
    restart_count: q.restartCount,
    safe: q.safe,
    firmware_version: `0x${q.firmwareVersion.toString(16).padStart(16, '0')}`,
    pcr_selection: q.selections.map((s) => ({ bank: HASH_ALGS.get(s.hashAlg)!.name, pcrs: s.pcrs })),
    pcr_digest: hex(q.pcrDigest),
    signature: { format: v.signature.format, scheme: v.signature.scheme },
    ak_subject: (v.ak.subject ?? '').replace(/\n/g, ', '), // empty on GCE's AK certificates
    ...(v.pcrs === null ? {} : { pcrs: Object.fromEntries([...v.pcrs].sort(([a], [b]) => a - b).map(([i, b]) => [i, hex(b)])) }),
  };
}
