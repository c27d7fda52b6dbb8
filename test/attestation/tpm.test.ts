/** Real vTPM quotes (GCE SEV with an event log, GCP AMD and TDX CVMs, Azure Genoa) and forgeries of each check. */
import assert from 'node:assert/strict';
import { createHash, createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  parseEventLog, parseQuoteSignature, parseTpmsAttest, tpmQuoteToJson, verifyQuoteSignature, verifyTpmQuote, type TpmVerifyOptions,
} from '../../src/attestation/index.js';
import { failsWith, flip } from './helpers.js';
import { snpFile, tpmFile } from './snp-vectors.js';

const hexMap = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [Number(k), Buffer.from(v, 'hex')]));
const cosPcrs = hexMap(JSON.parse(tpmFile('gce-cos85-sha256-pcrs.json').toString('utf8')) as Record<string, string>);
const cosAt = new Date('2026-01-01T00:00:00Z');
const cos = (bank: string, extra: Partial<TpmVerifyOptions> = {}): [Buffer, TpmVerifyOptions] => [
  tpmFile(`gce-cos85-nonce9009-quote-${bank}-bank.attest`),
  { signature: tpmFile(`gce-cos85-nonce9009-quote-${bank}-bank.tpmt_signature`), akCert: tpmFile('gce-cos85-akcert.der'),
    chain: tpmFile('google-tpm-ek-chain.pem'), nonce: Buffer.from('9009', 'hex'), at: cosAt, ...extra },
];

interface Vaportpm { nonce: string; pcrs: { sha256: Record<string, string> } }
const cvm = (vm: 'amd' | 'tdx', extra: Partial<TpmVerifyOptions> = {}): [Buffer, TpmVerifyOptions] => {
  const json = JSON.parse(tpmFile(`vaportpm-gcp-${vm}-fixture.json`).toString('utf8')) as Vaportpm;
  return [tpmFile(`gcp-${vm}-cvm-quote.attest`), {
    signature: tpmFile(`gcp-${vm}-cvm-quote-sig.der`), akCert: tpmFile(`gcp-${vm}-cvm-ak-chain.pem`), chain: tpmFile('google-ekak-ca-root.pem'),
    nonce: Buffer.from(json.nonce, 'hex'), pcrs: hexMap(json.pcrs.sha256), at: new Date('2026-03-01T00:00:00Z'), ...extra,
  }];
};
/** The GCP AK chain file holds AK, intermediate and root: the intermediate and root are the CA given. */
const withIntermediate = ([bytes, o]: [Buffer, TpmVerifyOptions]): [Buffer, TpmVerifyOptions] => [bytes, { ...o, chain: o.akCert }];

describe('real TPM quotes', () => {
  for (const bank of ['sha1', 'sha256', 'sha384']) {
    it(`GCE cos85 ${bank} bank: RSASSA TPMT_SIGNATURE, AK chained to Google's EK root, nonce`, () => {
      const v = verifyTpmQuote(...cos(bank));
      const json = tpmQuoteToJson(v);
      assert.equal(json.nonce, '9009');
      assert.deepEqual(json.signature, { format: 'tpmt', scheme: 'rsassa' });
      assert.deepEqual(json.pcr_selection, [{ bank, pcrs: [...Array(24).keys()] }]);
      assert.equal(json.reset_count, 10);
      assert.equal(json.firmware_version, '0x2016051100162800');
    });
  }

  it('GCE cos85: the PCR digest of the SHA-256 bank', () => {
    const v = verifyTpmQuote(...cos('sha256', { pcrs: cosPcrs }));
    assert.equal(v.pcrs?.size, 24);
  });

  it('GCE cos85: the event log replays PCRs 0-9, 11-23; PCR10 (IMA) is given', () => {
    const eventLog = tpmFile('gce-cos85-event-log.bin');
    const v = verifyTpmQuote(...cos('sha256', { eventLog, pcrs: new Map([[10, cosPcrs.get(10)!]]) }));
    assert.equal(Buffer.from(v.pcrs!.get(0)!).toString('hex'), cosPcrs.get(0)!.toString('hex'));
    assert.ok(Buffer.from(v.pcrs!.get(0)!).toString('hex').startsWith('0f35c214'));
    verifyTpmQuote(...cos('sha256', { eventLog, pcrs: cosPcrs })); // agreeing values for replayed PCRs are accepted
  });

  for (const vm of ['amd', 'tdx'] as const) {
    it(`GCP ${vm} CVM: DER ECDSA P-256, AK chained to Google's EK/AK CA root, PCR digest`, () => {
      const json = tpmQuoteToJson(verifyTpmQuote(...withIntermediate(cvm(vm))));
      assert.deepEqual(json.signature, { format: 'der', scheme: 'ecdsa' });
      assert.match(json.ak_subject as string, /O=Google Compute Engine/);
    });
  }

  it('Azure Genoa: a raw RSA signature by the HCL report\'s AK', () => {
    const quote = tpmFile('azure-genoa-quote.attest');
    const key = createPublicKey({ key: hclAkPub(), format: 'jwk' });
    const sig = parseQuoteSignature(tpmFile('azure-genoa-quote.sig'));
    assert.equal(sig.format, 'raw');
    verifyQuoteSignature(parseTpmsAttest(quote).raw, sig, key);
    failsWith(() => verifyQuoteSignature(flip(quote, 20), sig, key), 'signature');
  });
});

/** The AK in the runtime-data JSON of Azure's HCL report (size at 0x4D0, JSON at 0x4D4). */
function hclAkPub() {
  const hcl = snpFile('azure-genoa-v3-hcl-report.bin');
  const json = JSON.parse(hcl.subarray(0x4d4, 0x4d4 + hcl.readUInt32LE(0x4d0)).toString('utf8')) as { keys: { kid: string }[] };
  return json.keys.find((k) => k.kid === 'HCLAkPub')!;
}

describe('TPM quote forgeries', () => {
  const [quote, options] = withIntermediate(cvm('amd'));
  const parsed = parseTpmsAttest(quote);

  it('a flipped byte in each field class breaks the signature', () => {
    const offsets = [6, 40, 42 + parsed.extraData.length, quote.length - 40, quote.length - 1];
    for (const at of offsets) failsWith(() => verifyTpmQuote(flip(quote, at), options), 'signature', 'quote');
    failsWith(() => verifyTpmQuote(quote, { ...options, signature: flip(options.signature, 20) }), 'signature'); // flipped in the signature
  });

  it('a wrong magic, type, or length is not a quote', () => {
    failsWith(() => verifyTpmQuote(flip(quote, 0), options), 'quote');
    failsWith(() => verifyTpmQuote(flip(quote, 5), options), 'quote');
    failsWith(() => verifyTpmQuote(quote.subarray(0, quote.length - 1), options), 'quote');
    failsWith(() => verifyTpmQuote(Buffer.concat([quote, Buffer.alloc(1)]), options), 'quote');
  });

  it('a wrong nonce', () => {
    failsWith(() => verifyTpmQuote(quote, { ...options, nonce: flip(options.nonce, 0) }), 'nonce');
    failsWith(() => verifyTpmQuote(quote, { ...options, nonce: options.nonce.subarray(1) }), 'nonce');
  });

  it('a wrong or missing PCR', () => {
    const pcrs = new Map(options.pcrs);
    pcrs.set(7, flip(pcrs.get(7)!, 31));
    failsWith(() => verifyTpmQuote(quote, { ...options, pcrs }), 'pcr');
    pcrs.delete(7);
    failsWith(() => verifyTpmQuote(quote, { ...options, pcrs }), 'pcr');
    failsWith(() => verifyTpmQuote(quote, { ...options, pcrs: new Map([...options.pcrs!].map(([i, v]) => [i, v.subarray(1)])) }), 'pcr');
  });

  it("another VM's AK, another provider's CA, a time outside the AK's validity", () => {
    const [, tdx] = withIntermediate(cvm('tdx'));
    failsWith(() => verifyTpmQuote(quote, { ...options, akCert: tdx.akCert, chain: tdx.chain }), 'signature');
    failsWith(() => verifyTpmQuote(quote, { ...options, chain: tpmFile('google-tpm-ek-chain.pem') }), 'chain');
    const [cosQuote, cosOptions] = cos('sha256');
    failsWith(() => verifyTpmQuote(cosQuote, { ...cosOptions, chain: tpmFile('google-ekak-ca-root.pem') }), 'chain');
    failsWith(() => verifyTpmQuote(quote, { ...options, at: new Date('2026-01-01T00:00:00Z') }), 'validity');
    failsWith(() => verifyTpmQuote(quote, { ...options, akCert: Buffer.from('not a certificate') }), 'chain');
  });

  it('an event log that differs from the quote or from the pinned values', () => {
    const log = tpmFile('gce-cos85-event-log.bin');
    const pcr10 = new Map([[10, cosPcrs.get(10)!]]);
    const events = parseEventLog(log);
    const digest = events.find((e) => e.pcr === 4 && e.type !== 3)!.digests.get(0x000b)!;
    const at = Buffer.from(log).indexOf(Buffer.from(digest));
    failsWith(() => verifyTpmQuote(...cos('sha256', { eventLog: flip(log, at), pcrs: pcr10 })), 'pcr');
    failsWith(() => verifyTpmQuote(...cos('sha256', { eventLog: log })), 'pcr'); // PCR10 missing: its reset value is wrong
    const wrong = new Map([...pcr10, [4, createHash('sha256').update('other').digest()]]);
    failsWith(() => verifyTpmQuote(...cos('sha256', { eventLog: log, pcrs: wrong })), 'event-log');
    failsWith(() => verifyTpmQuote(...cos('sha1', { eventLog: log })), 'event-log');
    failsWith(() => verifyTpmQuote(...cos('sha256', { eventLog: log.subarray(0, 1000) })), 'event-log');
    failsWith(() => verifyTpmQuote(...cos('sha256', { eventLog: flip(log, 40) })), 'event-log'); // not "Spec ID Event03"
  });

  it('a signature that is no signature', () => {
    failsWith(() => verifyTpmQuote(quote, { ...options, signature: Buffer.from('short') }), 'quote');
    failsWith(() => verifyTpmQuote(quote, { ...options, signature: tpmFile('gce-cos85-nonce9009-quote-sha256-bank.tpmt_signature') }), 'signature');
  });
});
