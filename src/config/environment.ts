/**
 * The one reader of ebak's environment variables (listed in
 * src/config/schema.ts) besides the flag parser, which fills a flag from its
 * variable. It turns them into typed settings for the layers below — the
 * storage, HSM and vault code never read `process.env` themselves — and
 * reports every bad value at once. The AWS tools' own variables (AWS_*,
 * NODE_EXTRA_CA_CERTS) are read here too, into the typed AwsSettings the
 * S3 client, the KMS client and the key service receive.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ArchiveRestoreOptions, AwsSettings, ObjectLockMode, ObjectLockOptions } from '../storage/s3/index.js';
import { problemsError } from './problems.js';
import { FLAGS } from './schema.js';

/** The variables no flag stands for, and the global flags' variables (main.ts parses the flags). */
export interface Environment {
  readonly repository: string | undefined;
  readonly repositoryFile: string | undefined;
  readonly password: string | undefined;
  readonly passwordFile: string | undefined;
  readonly passwordCommand: string | undefined;
  readonly recoveryKeyFile: string | undefined;
  /** The HSM user PIN itself (--pin-file names a file instead). */
  readonly hsmPin: string | undefined;
  /** Where this machine's vault device sessions live. */
  readonly configDir: string;
  /** The local metadata cache (--cache-dir wins), or undefined under EBAK_NO_CACHE=1. */
  readonly cacheDir: string | undefined;
  /** The trust in a vault for commands without the trust flags (init --vault; login and vault take the flags). */
  readonly vaultTrust: {
    readonly root: string | undefined; readonly measurements: string | undefined; readonly allowDebug: boolean; readonly platforms: string | undefined;
    readonly snpChain: string | undefined; readonly snpMeasurement: string | undefined; readonly snpMinTcb: string | undefined;
  };
  readonly debug: boolean;
  /** EBAK_TEST_NOW, for tests only: the clock of local retention decisions (a bad value is ignored: the real clock). */
  readonly testNow: Date | undefined;
  /** EBAK_TEST_FAST_KDF=1, for tests only: new password key files get a token Argon2id cost. */
  readonly testFastKdf: boolean;
}

export function environment(env: NodeJS.ProcessEnv): Environment {
  return {
    repository: env.EBAK_REPOSITORY || undefined,
    repositoryFile: env.EBAK_REPOSITORY_FILE || undefined,
    // An empty password is no password (restic's rule).
    password: env.EBAK_PASSWORD || undefined,
    passwordFile: env.EBAK_PASSWORD_FILE || undefined,
    passwordCommand: env.EBAK_PASSWORD_COMMAND || undefined,
    recoveryKeyFile: env.EBAK_RECOVERY_KEY_FILE,
    hsmPin: env.EBAK_HSM_PIN,
    configDir: env.EBAK_CONFIG_DIR || join(env.HOME || homedir(), '.config', 'ebak'),
    cacheDir: env.EBAK_NO_CACHE === '1' ? undefined : env.EBAK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'ebak'),
    vaultTrust: {
      root: env.EBAK_VAULT_ROOT, measurements: env.EBAK_VAULT_MEASUREMENTS, allowDebug: env.EBAK_VAULT_ALLOW_DEBUG === '1', platforms: env.EBAK_VAULT_PLATFORM,
      snpChain: env.EBAK_VAULT_SNP_CHAIN, snpMeasurement: env.EBAK_VAULT_SNP_MEASUREMENT, snpMinTcb: env.EBAK_VAULT_SNP_MIN_TCB,
    },
    debug: Boolean(env.EBAK_DEBUG),
    testNow: env.EBAK_TEST_NOW && !Number.isNaN(Date.parse(env.EBAK_TEST_NOW)) ? new Date(env.EBAK_TEST_NOW) : undefined,
    testFastKdf: env.EBAK_TEST_FAST_KDF === '1',
  };
}

/** What a run writes, from the environment: the variables of --compression and --pack-size (restic's RESTIC_COMPRESSION, RESTIC_PACK_SIZE). */
export interface WritingEnvironment {
  readonly compression: string | undefined;
  readonly packSize: string | undefined;
}

/** Reads EBAK_COMPRESSION and EBAK_PACK_SIZE, each checked as its flag is; every bad value is reported together. */
export function writingEnvironment(env: NodeJS.ProcessEnv): WritingEnvironment {
  const problems: string[] = [];
  const read = (name: 'EBAK_COMPRESSION' | 'EBAK_PACK_SIZE'): string | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const problem = FLAGS.find((f) => f.env === name)!.check?.(v);
    if (problem !== undefined) problems.push(`${name}: ${problem}`);
    return v;
  };
  const result = { compression: read('EBAK_COMPRESSION'), packSize: read('EBAK_PACK_SIZE') };
  if (problems.length > 0) throw problemsError(problems, 'see `ebak --help`, "environment"');
  return result;
}

/**
 * The environment as seen for a second repository (`copy --from-repo`):
 * restic's EBAK_FROM_* names stand for the ordinary ones, and the current
 * repository's location and secrets are not visible at all, so neither
 * side's password can open the other by accident.
 */
export function sourceEnvironment(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of ['REPOSITORY', 'REPOSITORY_FILE', 'PASSWORD', 'PASSWORD_FILE', 'PASSWORD_COMMAND', 'RECOVERY_KEY_FILE']) {
    out[`EBAK_${name}`] = env[`EBAK_FROM_${name}`];
    delete out[`EBAK_FROM_${name}`];
  }
  return out;
}

/** The S3 settings of the environment: how restores of archived packs wait, and Object Lock retention. */
export interface S3Environment {
  readonly archiveRestore: ArchiveRestoreOptions;
  readonly objectLock: ObjectLockOptions | undefined;
}

/** Reads EBAK_S3_*; every bad value is reported together. */
export function s3Environment(env: NodeJS.ProcessEnv): S3Environment {
  const problems: string[] = [];
  const ms = (name: 'EBAK_S3_RESTORE_POLL_SECONDS' | 'EBAK_S3_RESTORE_TIMEOUT'): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    const n = Number(v);
    if (Number.isFinite(n) && n >= 0) return n * 1000;
    problems.push(`${name} must be a non-negative number of seconds, got ${JSON.stringify(v)}`);
    return undefined;
  };
  const pollMs = ms('EBAK_S3_RESTORE_POLL_SECONDS');
  const timeoutMs = ms('EBAK_S3_RESTORE_TIMEOUT');
  if (problems.length > 0) throw problemsError(problems, 'see `ebak --help`, "environment"');
  const days = env.EBAK_S3_OBJECT_LOCK_DAYS;
  const mode = env.EBAK_S3_OBJECT_LOCK_MODE;
  return {
    archiveRestore: { ...(pollMs === undefined ? {} : { pollMs }), ...(timeoutMs === undefined ? {} : { timeoutMs }) },
    objectLock: days === undefined || days === '' ? undefined : { days: Number(days), ...(mode ? { mode: mode as ObjectLockMode } : {}) },
  };
}

/**
 * The AWS tools' variables, typed: static credentials when both keys are set
 * (with AWS_SESSION_TOKEN, when set), the profile, the regions, and the CA
 * bundles AWS_CA_BUNDLE and NODE_EXTRA_CA_CERTS name. An empty value is no value.
 */
export function awsEnvironment(env: NodeJS.ProcessEnv): AwsSettings {
  const given = (name: string): string | undefined => env[name] || undefined;
  const [id, secret, token] = [given('AWS_ACCESS_KEY_ID'), given('AWS_SECRET_ACCESS_KEY'), given('AWS_SESSION_TOKEN')];
  const optional = { profile: given('AWS_PROFILE'), region: given('AWS_REGION'), defaultRegion: given('AWS_DEFAULT_REGION') };
  return {
    ...(id && secret ? { credentials: { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) } } : {}),
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
    caFiles: [given('AWS_CA_BUNDLE'), given('NODE_EXTRA_CA_CERTS')].filter((f): f is string => f !== undefined),
  };
}
