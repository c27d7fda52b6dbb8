/**
 * The S3 storage classes data packs may be written in: a setting the CLI
 * checks before any S3 code (and the AWS SDK) is loaded.
 */
export type DataStorageClass = 'STANDARD_IA' | 'GLACIER_IR' | 'GLACIER' | 'DEEP_ARCHIVE';
export const DATA_STORAGE_CLASSES: readonly DataStorageClass[] = ['STANDARD_IA', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE'];
