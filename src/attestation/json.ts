import type { AttestationDocument } from './document.js';

const hex = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('hex'));

/** The document's fields under their Nitro names, byte strings as hex (for `--json` and logs). */
export function documentToJson(doc: AttestationDocument): Record<string, unknown> {
  return {
    module_id: doc.moduleId,
    digest: doc.digest,
    timestamp: doc.timestamp,
    pcrs: Object.fromEntries([...doc.pcrs].map(([i, v]) => [String(i), hex(v)])),
    certificate: hex(doc.certificate),
    cabundle: doc.cabundle.map(hex),
    public_key: hex(doc.publicKey),
    user_data: hex(doc.userData),
    nonce: hex(doc.nonce),
  };
}
