/**
 * The AWS SDK's S3 client, loaded with require, not import. It ships as
 * one CommonJS bundle (270 KB); imported from ESM, Node first runs
 * cjs-module-lexer over it to find its named exports and sniffs its format:
 * 125-146 ms to load, against 63-65 ms required, on the main thread of every
 * S3 command before its first request (docs/benchmarks.md, s3perf2).
 * Its types come from the package as usual (`import type`).
 */
import { createRequire } from 'node:module';
import type * as Sdk from '@aws-sdk/client-s3';

const sdk = createRequire(import.meta.url)('@aws-sdk/client-s3') as typeof Sdk;

export const {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  PutObjectRetentionCommand,
  RestoreObjectCommand,
  S3Client,
  UploadPartCommand,
} = sdk;
