/**
 * The S3 storage classes data packs may be written in or moved to: a
 * setting the CLI checks before any S3 code (and the AWS SDK) is loaded,
 * and their order from hot to cold (what "colder" means when a pack moves).
 */
export type DataStorageClass = 'STANDARD_IA' | 'GLACIER_IR' | 'GLACIER' | 'DEEP_ARCHIVE';
export const DATA_STORAGE_CLASSES: readonly DataStorageClass[] = ['STANDARD_IA', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'];

const COLDNESS: Record<string, number> = { STANDARD_IA: 1, ONEZONE_IA: 1, GLACIER_IR: 2, GLACIER: 3, DEEP_ARCHIVE: 4 };

/** 0 for STANDARD (and any class not listed), then STANDARD_IA < GLACIER_IR < GLACIER < DEEP_ARCHIVE. */
export function coldness(storageClass: string | undefined): number {
  return COLDNESS[storageClass ?? 'STANDARD'] ?? 0;
}
