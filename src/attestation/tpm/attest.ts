/**
 * TPMS_ATTEST for a quote (TPM 2.0 Part 2 §10.12.12): magic TPM_GENERATED,
 * type TPM_ST_ATTEST_QUOTE, qualifiedSigner, extraData (the verifier's nonce),
 * clockInfo, firmwareVersion, then TPMS_QUOTE_INFO (TPML_PCR_SELECTION and
 * pcrDigest). Strict: every byte must be accounted for.
 */
import { ensure } from '../errors.js';
import { HASH_ALGS, Reader } from './reader.js';

export const TPM_GENERATED = 0xff544347;
export const TPM_ST_ATTEST_QUOTE = 0x8018;

export interface PcrSelection {
  /** TPM_ALG_ID of the bank. */
  hashAlg: number;
  /** Selected PCR indices, ascending. */
  pcrs: number[];
}

export interface TpmQuote {
  raw: Uint8Array;
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clock: bigint;
  resetCount: number;
  restartCount: number;
  safe: boolean;
  firmwareVersion: bigint;
  selections: PcrSelection[];
  pcrDigest: Uint8Array;
}

/** True when the bytes start as a TPMS_ATTEST does (format recognition). */
export const looksLikeTpmsAttest = (bytes: Uint8Array) =>
  bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) === TPM_GENERATED;

export function parseTpmsAttest(bytes: Uint8Array): TpmQuote {
  const r = new Reader(bytes, 'quote', 'the TPMS_ATTEST');
  ensure(r.u32() === TPM_GENERATED, 'quote', 'the TPMS_ATTEST magic is not TPM_GENERATED');
  const type = r.u16();
  ensure(type === TPM_ST_ATTEST_QUOTE, 'quote', `the TPMS_ATTEST type is 0x${type.toString(16)}, not a quote (0x8018)`);
  const qualifiedSigner = r.tpm2b();
  const extraData = r.tpm2b();
  const clock = r.u64();
  const resetCount = r.u32();
  const restartCount = r.u32();
  const safe = r.u8();
  ensure(safe <= 1, 'quote', 'clockInfo.safe is not a boolean');
  const firmwareVersion = r.u64();
  const selections = pcrSelections(r);
  const pcrDigest = r.tpm2b();
  r.end();
  return { raw: Uint8Array.from(bytes), qualifiedSigner, extraData, clock, resetCount, restartCount, safe: safe === 1, firmwareVersion, selections, pcrDigest };
}

/** TPML_PCR_SELECTION: count, then TPMS_PCR_SELECTION {hash, sizeofSelect, pcrSelect bitmap}. */
function pcrSelections(r: Reader): PcrSelection[] {
  const count = r.u32();
  ensure(count <= HASH_ALGS.size, 'quote', `the quote selects ${count} PCR banks`);
  const out: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const hashAlg = r.u16();
    ensure(HASH_ALGS.has(hashAlg), 'quote', `PCR bank algorithm 0x${hashAlg.toString(16)} is not supported`);
    const size = r.u8();
    ensure(size >= 3 && size <= 4, 'quote', `sizeofSelect ${size} is not 3 or 4`);
    const bitmap = r.bytesOf(size);
    const pcrs: number[] = [];
    for (let n = 0; n < size * 8; n++) if (bitmap[n >> 3]! & (1 << (n & 7))) pcrs.push(n);
    out.push({ hashAlg, pcrs });
  }
  return out;
}
