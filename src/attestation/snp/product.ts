/**
 * SEV-SNP products (Milan, Genoa, Turin): the pinned AMD root keys (ARK) of
 * each, how a product is named by the report's CPUID and the certificates,
 * and the product's TCB_VERSION layout (the SPL bytes differ on Turin).
 */
import { EbakError } from '../../errors.js';

export type Product = 'Milan' | 'Genoa' | 'Turin';
export const PRODUCTS: readonly Product[] = ['Milan', 'Genoa', 'Turin'];

/**
 * SHA-256 fingerprints of AMD's ARK-<product> certificates, as published at
 * https://kdsintf.amd.com/vcek/v1/<product>/cert_chain and cross-checked
 * across go-sev-guest, virtee/sev and trustee (test/fixtures/sev-snp/SOURCES.md).
 */
export const AMD_ARK_SHA256: Readonly<Record<Product, string>> = {
  Milan: '69:D0:63:B4:53:44:D2:6A:2E:94:E1:F4:21:0D:E4:9E:F5:55:30:82:87:D4:C1:74:44:5C:95:63:9A:54:0B:CD',
  Genoa: '4C:65:98:D1:9C:18:71:9C:5D:FD:4A:7D:33:5F:67:4E:5B:FE:1D:8F:80:0C:EA:2C:F2:70:C1:0D:10:3D:B2:F1',
  Turin: '1F:08:41:61:A4:4B:B6:D9:37:78:A9:04:87:7D:48:19:CA:FA:5D:05:EF:41:93:B2:DE:D9:DD:9C:73:DD:3F:6A',
};

/**
 * The product a version-3+ report's CPUID names (family 19h: Milan models
 * 00h-0Fh, Genoa 10h-1Fh and A0h-AFh; family 1Ah: Turin), or null when the
 * report does not say (version 2 leaves the bytes zero).
 */
export function productOfCpuid(cpuid: { family: number; model: number }): Product | null | 'unknown' {
  if (cpuid.family === 0 && cpuid.model === 0) return null;
  if (cpuid.family === 0x19 && cpuid.model >> 4 === 0) return 'Milan';
  if (cpuid.family === 0x19 && (cpuid.model >> 4 === 1 || cpuid.model >> 4 === 0xa)) return 'Genoa';
  if (cpuid.family === 0x1a) return 'Turin';
  return 'unknown';
}

/** The product in a name such as "Milan-B0" (VCEK productName) or "SEV-VLEK-Genoa" (ASK CN). */
export function productInName(name: string): Product | null {
  return PRODUCTS.find((p) => name === p || name.startsWith(`${p}-`) || name.endsWith(`-${p}`)) ?? null;
}

/** The security patch levels in a TCB_VERSION; fmc exists on Turin only. */
export interface Tcb {
  bl: number;
  tee: number;
  snp: number;
  ucode: number;
  fmc?: number;
}

/**
 * Milan and Genoa: byte 0 BOOT_LOADER, 1 TEE, 6 SNP, 7 MICROCODE. Turin:
 * byte 0 FMC, 1 BOOT_LOADER, 2 TEE, 3 SNP, 7 MICROCODE. The other bytes are reserved.
 */
export function decodeTcb(value: bigint, product: Product): Tcb {
  const byte = (i: number) => Number((value >> BigInt(8 * i)) & 0xffn);
  if (product === 'Turin') return { fmc: byte(0), bl: byte(1), tee: byte(2), snp: byte(3), ucode: byte(7) };
  return { bl: byte(0), tee: byte(1), snp: byte(6), ucode: byte(7) };
}

/** A TCB written BL/TEE/SNP/UCODE (0..255 each), as --min-tcb takes it; USAGE otherwise. */
export function parseTcb(text: string, flag = '--min-tcb'): Tcb {
  const match = /^(\d{1,3})\/(\d{1,3})\/(\d{1,3})\/(\d{1,3})$/.exec(text);
  const [bl, tee, snp, ucode] = (match ?? []).slice(1).map(Number);
  if (!match || [bl, tee, snp, ucode].some((n) => n! > 255)) throw new EbakError('USAGE', `${flag} must be BL/TEE/SNP/UCODE (0..255 each), got "${text}"`);
  return { bl: bl!, tee: tee!, snp: snp!, ucode: ucode! };
}

export const formatTcb = (t: Tcb) => `${t.bl}/${t.tee}/${t.snp}/${t.ucode}${t.fmc === undefined ? '' : ` fmc ${t.fmc}`}`;
