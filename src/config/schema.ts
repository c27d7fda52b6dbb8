/**
 * The one table of ebak's options: every flag (its name, short form, type,
 * environment variable, default, check and help text, and the commands that
 * take it) and every environment variable (the EBAK_* ones, and the AWS
 * tools' own that the S3 and key service clients honour). The parser
 * (src/config/flags.ts), the environment reader (src/config/environment.ts)
 * and the generated help (src/config/help.ts) all read this table, so a flag
 * cannot exist without a description, and the help cannot drift from what
 * the commands accept. Commands keep their own files; they name their flags
 * here by the command name in `commands` ('*' is a global flag).
 *
 * Every default that another module owns as a constant (the SoftHSM module,
 * the attestation age) is written here as help text, and test/config checks
 * the two agree.
 */
import { checks } from './checks.js';

/** restic 0.17's restore --overwrite modes (src/restorer/overwrite.ts applies them). */
export const OVERWRITE_MODES = ['always', 'if-changed', 'if-newer', 'never'] as const;

export interface FlagSpec {
  /** The long name, without the leading `--`. */
  readonly name: string;
  readonly short?: string;
  readonly type: 'string' | 'boolean';
  /** May be given more than once (the value is the list). */
  readonly multiple?: boolean;
  /** The placeholder shown in help (`--target <dir>`). */
  readonly arg?: string;
  /** The EBAK_* variable used when the flag is absent (a boolean is set by the value 1). */
  readonly env?: string;
  /** What applies when neither flag nor variable is given (for help; the command applies it). */
  readonly default?: string;
  /** Returns the problem with a given value, or undefined when it is fine. */
  readonly check?: (value: string) => string | undefined;
  readonly help: string;
  /** The commands taking the flag; '*' for a global flag, parsed before the command. */
  readonly commands: readonly string[];
}

export interface VariableSpec {
  readonly name: string;
  readonly help: string;
  /** The flag that wins over the variable, when there is one. */
  readonly flag?: string;
  readonly default?: string;
}

// The helpers keep each flag's name, commands and `multiple` as literal types, so FlagsOf (below) can type a command's parse result.
const string = <const N extends string, const C extends readonly string[], const M extends Partial<FlagSpec> = {}>(name: N, arg: string, help: string, commands: C, more: M = {} as M) =>
  ({ name, type: 'string' as const, arg, help, commands, ...more });
const boolean = <const N extends string, const C extends readonly string[], const M extends Partial<FlagSpec> = {}>(name: N, help: string, commands: C, more: M = {} as M) =>
  ({ name, type: 'boolean' as const, help, commands, ...more });

export const GLOBAL = '*';
const G = [GLOBAL] as const;

const TABLE = [
  // Global: valid before or after any command.
  string('repo', 'location', 'the repository: a directory, or s3:<bucket>/<prefix>, or s3:https://<host>/<bucket>/<prefix>', G, { short: 'r', env: 'EBAK_REPOSITORY' }),
  string('repository-file', 'file', 'read the repository location from the first line of this file', G, { env: 'EBAK_REPOSITORY_FILE' }),
  string('password-file', 'file', 'read the repository password from the first line of this file', G, { env: 'EBAK_PASSWORD_FILE' }),
  string('password-command', 'command', 'run this shell command and read the password from the first line it prints', G, { env: 'EBAK_PASSWORD_COMMAND' }),
  string('recovery-key-file', 'file', 'open the repository with the recovery key in this file (vault unlock: the key that unlocks the account)', G, { env: 'EBAK_RECOVERY_KEY_FILE' }),
  string('cache-dir', 'dir', 'keep snapshots, index files and tree packs (encrypted, verified on read) in this local cache', G, { env: 'EBAK_CACHE_DIR', default: '$XDG_CACHE_HOME/ebak, else ~/.cache/ebak' }),
  string('retry-lock', 'duration', 'when the repository is locked, retry for up to this long (e.g. 30s, 5m) before giving up (exit 11)', G),
  string('limit-upload', 'KiB/s', 'upload at most this many KiB per second (restic\'s unit)', G, { check: checks.positiveInteger('--limit-upload') }),
  string('limit-download', 'KiB/s', 'download at most this many KiB per second', G, { check: checks.positiveInteger('--limit-download') }),
  string('compression', 'mode', 'compression of what this run writes: auto (the repository\'s level), off, fastest, better or max', G, { env: 'EBAK_COMPRESSION', default: 'auto', check: checks.oneOf('--compression', ['auto', 'off', 'fastest', 'better', 'max']) }),
  string('pack-size', 'MiB', 'target size of the packs this run writes, 4 to 128 MiB (restic\'s range)', G, { env: 'EBAK_PACK_SIZE', check: checks.integerIn('--pack-size', 4, 128) }),
  boolean('no-lock', 'take no lock (read-only commands only: a repository on read-only storage; a concurrent prune may then make the read fail)', G),
  boolean('no-cache', 'read everything from the repository; keep no local cache (check and repair never use it)', G, { env: 'EBAK_NO_CACHE' }),
  boolean('json', 'print one JSON document on stdout; errors as JSON on stderr', G),
  boolean('quiet', 'print no progress and no informational lines (results, warnings, errors and --json output stay)', G, { short: 'q' }),
  boolean('verbose', 'print more detail where a command has it (backup: each new or changed file; restore: every entry restored, skipped, replaced or deleted)', G, { short: 'v' }),
  boolean('help', 'show the help of ebak or of the command', G, { short: 'h' }),

  // init
  boolean('no-password', 'create the repository with a recovery key only (no password key)', ['init']),
  string('vault', 'url', 'keep the repository key in this key vault (the password logs in; no password key file)', ['init']),
  string('account', 'name', 'the vault account (default: derived from the repository)', ['init', 'login']),
  string('vault-invite', 'token', 'the invitation from the vault operator (a vault with registration by invitation)', ['init'], { env: 'EBAK_VAULT_INVITE' }),
  string('s3-object-lock-days', 'N', 'S3 Object Lock: keep every object written for N days (S3 only; stored in the repository config)', ['init']),
  string('s3-object-lock-mode', 'mode', 'S3 Object Lock mode, COMPLIANCE or GOVERNANCE (needs --s3-object-lock-days)', ['init'], { default: 'COMPLIANCE' }),

  // backup, snapshots
  string('tag', 'tag', 'tag the snapshot', ['backup'], { multiple: true }),
  string('exclude', 'glob', 'leave out paths matching the glob', ['backup', 'restore'], { multiple: true, check: checks.pattern('--exclude') }),
  string('host', 'name', 'the hostname recorded in the snapshot', ['backup'], { default: 'this machine' }),
  string('time', 'ISO 8601', 'the snapshot time', ['backup'], { default: 'now', check: checks.isoTime }),
  string('parent', 'id', 'the snapshot whose unchanged files are reused', ['backup'], { default: 'the latest of the same host and paths' }),
  string('iexclude', 'glob', 'as --exclude, ignoring the case of names', ['backup'], { multiple: true, check: checks.pattern('--iexclude') }),
  string('exclude-file', 'file', 'read exclude patterns from this file (one a line; blank lines and # comments ignored; $VAR expanded, $$ for $)', ['backup'], { multiple: true }),
  string('iexclude-file', 'file', 'as --exclude-file, ignoring the case of names', ['backup'], { multiple: true }),
  boolean('exclude-caches', 'leave out the contents of directories holding a CACHEDIR.TAG with the standard signature (the tag file is kept)', ['backup']),
  string('exclude-if-present', 'file[:header]', 'leave out the contents of directories holding this file (starting with header, when given); the file itself is kept', ['backup'], { multiple: true, check: checks.tagFile('--exclude-if-present') }),
  string('exclude-larger-than', 'size', 'leave out files larger than this (bytes, or with k, m, g or t)', ['backup']),
  boolean('one-file-system', 'do not cross file system boundaries: mount points are kept as empty directories', ['backup'], { short: 'x' }),
  string('files-from', 'file', 'read the paths to back up from this file (- for stdin; one a line, globs expanded, blank lines and # comments ignored)', ['backup'], { multiple: true }),
  string('files-from-verbatim', 'file', 'read the paths to back up from this file (- for stdin), one a line, exactly as written (no globs, no comments)', ['backup'], { multiple: true }),
  string('files-from-raw', 'file', 'read the paths to back up from this file (- for stdin), each ended by a NUL byte (names need not be UTF-8)', ['backup'], { multiple: true }),
  boolean('stdin', 'back up what standard input holds, as one file', ['backup']),
  string('stdin-filename', 'name', 'the name of the file --stdin or --stdin-from-command stores', ['backup'], { default: 'stdin' }),
  boolean('stdin-from-command', 'run the arguments as a command and back up its standard output as one file (a failing command saves no snapshot)', ['backup']),
  boolean('dry-run', 'do everything but write: no pack, index or snapshot is saved; report what would be added', ['backup'], { short: 'n' }),
  boolean('skip-if-unchanged', 'save no snapshot when the tree equals the parent snapshot\'s', ['backup']),
  boolean('force', 'read every file again: use no parent snapshot', ['backup'], { short: 'f' }),
  string('read-concurrency', 'n', 'read this many files (those larger than one chunk) at the same time', ['backup'], { env: 'EBAK_READ_CONCURRENCY', default: '2', check: checks.positiveInteger('--read-concurrency') }),
  string('s3-data-storage-class', 'class', 'S3 storage class of the data packs: STANDARD_IA, GLACIER_IR, GLACIER or DEEP_ARCHIVE (S3 only)', ['backup']),
  string('latest', 'N', 'only the newest N snapshots of each group', ['snapshots']),
  boolean('compact', 'leave out the tags and size columns', ['snapshots']),

  // forget (restic's flags and meanings)
  ...(['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).map((r) => string(`keep-${r}`, 'N', r === 'last' ? 'keep the N newest snapshots (unlimited or -1: all)' : `keep the newest snapshot of each of the last N ${r === 'daily' ? 'days' : r.replace(/ly$/, 's')} (unlimited or -1: all)`, ['forget'])),
  string('keep-within', 'duration', 'keep every snapshot newer than the newest minus this duration (e.g. 1y2m3d4h)', ['forget']),
  ...(['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).map((r) => string(`keep-within-${r}`, 'duration', `keep the newest ${r} snapshot within this duration of the newest`, ['forget'])),
  string('keep-tag', 'tag[,tag]', 'keep snapshots with these tags (all of one list; any list)', ['forget'], { multiple: true }),
  string('host', 'name', 'only snapshots of this host', ['forget', 'tag', 'find', 'stats', 'snapshots', 'copy', 'restore', 'ls', 'diff', 'repair'], { multiple: true }),
  string('tag', 'tag[,tag]', 'only snapshots with these tags', ['forget', 'tag', 'find', 'stats', 'snapshots', 'copy', 'restore', 'ls', 'diff', 'repair'], { multiple: true }),
  string('path', 'path', 'only snapshots of this path', ['forget', 'tag', 'find', 'stats', 'snapshots', 'copy', 'restore', 'ls', 'diff', 'repair'], { multiple: true }),
  string('group-by', 'host,paths,tags', 'forget: apply the policy per group of these fields; snapshots: list per group', ['forget', 'snapshots'], { default: 'host,paths' }),
  boolean('dry-run', 'list what would be kept and removed, and why; remove nothing', ['forget']),
  boolean('prune', 'after forgetting, prune (ebak prune with its defaults; under --json only the forget document is printed)', ['forget']),

  // prune, unlock (restic's flags and meanings)
  string('max-unused', 'PERCENT|SIZE', 'tolerate this much unused space: a share (5%), a size (e.g. 500m) or unlimited', ['prune'], { default: '5%' }),
  string('max-repack-size', 'SIZE', 'repack at most this many bytes (e.g. 2g)', ['prune'], { default: 'unlimited' }),
  boolean('dry-run', 'print the plan (packs to delete and to repack, bytes freed); change nothing', ['prune']),
  boolean('early-delete', 'also delete or repack packs younger than their S3 storage class\'s minimum duration (STANDARD_IA 30 days, GLACIER_IR and GLACIER 90, DEEP_ARCHIVE 180): S3 bills the rest of it anyway', ['prune']),
  boolean('repack-archived', 'also repack partly used packs in GLACIER or DEEP_ARCHIVE: restores them first (S3 RestoreObject, waiting as restore does) and says what deleting them early costs', ['prune']),

  // cold (S3 only)
  string('after-days', 'N', 'move the data packs that only snapshots older than N days need', ['cold']),
  string('storage-class', 'class', 'the colder S3 class: STANDARD_IA, GLACIER_IR, GLACIER or DEEP_ARCHIVE', ['cold'], { default: 'GLACIER_IR' }),
  boolean('dry-run', 'list the packs that would move; move nothing', ['cold']),
  boolean('forget', 'repair snapshots: remove each damaged snapshot once its repaired copy is saved', ['repair']),
  boolean('dry-run', 'repair snapshots: say what would be repaired; write and remove nothing', ['repair'], { short: 'n' }),
  boolean('remove-all', 'remove every lock, not only stale ones (only when no ebak runs on the repository)', ['unlock']),

  // retention (issue 15; AWS Backup Vault Lock's MinRetentionDays, MaxRetentionDays, ChangeableForDays)
  string('min-days', 'N', 'retention lock: snapshots younger than N days cannot be forgotten (required)', ['retention'], { check: checks.integerIn('--min-days', 1, 36500) }),
  string('max-days', 'N', 'retention lock: check reports snapshots older than N days', ['retention'], { check: checks.integerIn('--max-days', 1, 36500) }),
  string('mode', 'mode', 'retention lock: governance (an authorized user may change it) or compliance (after its changeable period nobody may remove or shorten it)', ['retention'], { default: 'governance', check: checks.oneOf('--mode', ['governance', 'compliance']) }),
  string('changeable-for-days', 'D', 'retention lock: days a compliance lock can still be removed or shortened (0: frozen at once)', ['retention'], { default: '3', check: checks.integerIn('--changeable-for-days', 0, 36500) }),
  string('reason', 'text', 'retention hold add: why the snapshot is held (required, recorded)', ['retention']),

  // tag (restic's)
  string('add', 'tag[,tag]', 'add these tags', ['tag'], { multiple: true }),
  string('remove', 'tag[,tag]', 'remove these tags', ['tag'], { multiple: true }),
  string('set', 'tag[,tag]', 'replace the tags with these (given empty: no tags)', ['tag'], { multiple: true }),

  // find (restic's)
  string('snapshot', 'id', 'search only this snapshot (or latest)', ['find'], { short: 's', multiple: true }),
  boolean('ignore-case', 'match the patterns ignoring case', ['find'], { short: 'i' }),
  boolean('long', 'print each match as ls -l does', ['find'], { short: 'l' }),
  string('oldest', 'time', 'only entries modified at or after this time', ['find']),
  string('newest', 'time', 'only entries modified at or before this time', ['find']),

  // stats (restic's)
  string('mode', 'mode', 'what to count: restore-size, files-by-contents, raw-data or blobs-per-file', ['stats'], { default: 'restore-size', check: checks.oneOf('--mode', ['restore-size', 'files-by-contents', 'raw-data', 'blobs-per-file']) }),

  // ls (restic's)
  boolean('long', 'print each entry as ls -l does (mode, uid, gid, size, mtime)', ['ls'], { short: 'l' }),
  boolean('recursive', 'with directories given: everything below them, not only the entries directly in them', ['ls']),

  // diff (restic's)
  boolean('metadata', 'also print entries whose metadata alone changed (mode, owner, times), marked U', ['diff']),

  // dump (restic's)
  string('archive', 'format', 'the archive format for a directory: tar or zip', ['dump'], { short: 'a', default: 'tar', check: checks.oneOf('--archive', ['tar', 'zip']) }),
  string('target', 'file', 'write the file or the archive to this file instead of stdout', ['dump'], { short: 't' }),

  // generate (restic's)
  string('bash-completion', 'file', 'write the bash completion to this file (- for stdout)', ['generate']),
  string('zsh-completion', 'file', 'write the zsh completion to this file (- for stdout)', ['generate']),
  string('fish-completion', 'file', 'write the fish completion to this file (- for stdout)', ['generate']),
  string('man', 'dir', 'write man pages (ebak.1, ebak-<command>.1) into this directory', ['generate']),

  // copy (restic's)
  string('from-repo', 'location', 'copy: the repository to copy snapshots from', ['copy'], { env: 'EBAK_FROM_REPOSITORY' }),
  string('from-repository-file', 'file', 'copy: read the source repository location from this file', ['copy'], { env: 'EBAK_FROM_REPOSITORY_FILE' }),
  string('from-password-file', 'file', 'copy: read the source repository password from this file', ['copy'], { env: 'EBAK_FROM_PASSWORD_FILE' }),
  string('from-vault', 'url', 'copy: the source is a repository of this key vault; without a device session for it here, log in first with the source password', ['copy'], { env: 'EBAK_FROM_VAULT' }),
  string('from-password-command', 'command', 'copy: read the source repository password from this command', ['copy'], { env: 'EBAK_FROM_PASSWORD_COMMAND' }),

  // plan, daemon (#18)
  string('plans', 'file', 'the plan file (YAML)', ['plan', 'daemon'], { env: 'EBAK_PLANS', default: '~/.config/ebak/plans.yaml' }),
  string('state', 'file', 'where plan runs are recorded', ['plan', 'daemon'], { env: 'EBAK_PLAN_STATE', default: '~/.config/ebak/plan-state.json' }),
  boolean('drill', 'plan run: run the plan\'s restore drill now (restore its latest snapshot, or restore_test.sample of its files, into a scratch directory and verify every byte) instead of its backup', ['plan']),
  string('days', 'N', 'plan status: the days whose schedule slots are checked (RPO)', ['plan'], { default: '7' }),
  string('listen', 'host:port', 'daemon: serve /healthz and /metrics here (default: the plan file\'s daemon.listen; none: no listener)', ['daemon']),

  // restore, check, key
  string('at', 'ISO time', 'point-in-time: the newest snapshot taken at or before this time, all of one host and set of paths (--host, --path narrow them); not with a snapshot id', ['restore', 'ls', 'diff']),
  string('target', 'dir', 'the directory to restore into (required)', ['restore'], { short: 't' }),
  string('include', 'glob', 'restore only paths matching the glob (a full snapshot path, e.g. /home/u/work/src, or a name pattern such as *.txt), with the directories leading to them', ['restore'], { multiple: true, check: checks.pattern('--include') }),
  boolean('allow-outside-symlinks', 'deprecated, no effect (symlinks are always restored as recorded)', ['restore']),
  string('overwrite', 'mode', 'an entry already in the target: always (replace what differs; a file\'s content is read to tell), if-changed (trust a file of the same size and mtime), if-newer (replace only what is older than the snapshot\'s), never (keep it)', ['restore'], { default: 'always', check: checks.oneOf('--overwrite', OVERWRITE_MODES) }),
  boolean('delete', 'remove entries in the target that are not in the snapshot (only under the restored paths)', ['restore']),
  boolean('dry-run', 'say what the restore would do; write nothing (with --verbose: each entry)', ['restore']),
  boolean('sparse', 'restore all-zero stretches of files as holes (sparse files stay sparse)', ['restore']),
  boolean('verify', 'read every restored file back and compare it with the snapshot (a mismatch is an error, exit 3)', ['restore']),
  string('s3-restore-days', 'N', 'days S3 keeps a restored copy of archived packs (GLACIER, DEEP_ARCHIVE)', ['restore']),
  string('s3-restore-tier', 'tier', 'S3 archive retrieval tier: Expedited, Standard or Bulk', ['restore']),
  boolean('read-data', 'also read and authenticate every pack', ['check']),
  boolean('recovery', 'add a new recovery key instead of a password', ['key']),
  boolean('write-only', 'add a write-only credential (key: its own password; device: a vault device enrolled with a one-time code): it can run backup and nothing else', ['key', 'device']),
  string('new-password-file', 'file', 'read the new password from the first line of this file', ['key']),
  boolean('rewrite', 'rotate-master: also re-encrypt every pack, index file and snapshot of the old keys (a prune), then drop the old keys', ['key']),
  boolean('resume', 'rotate-master: only finish an interrupted rotation (or, with --rewrite, its re-encryption); make no new key', ['key']),
  boolean('dry-run', 'rotate-master: list the key files it would re-wrap and remove; change nothing', ['key'], { short: 'n' }),

  // hsm (and the HSM of vault serve)
  string('module', 'so', 'the PKCS#11 library', ['hsm', 'vault'], { env: 'EBAK_HSM_MODULE', default: '/usr/lib/softhsm/libsofthsm2.so' }),
  string('token', 'label', 'the HSM token label', ['hsm', 'vault'], { env: 'EBAK_HSM_TOKEN' }),
  string('pin-file', 'file', 'read the HSM user PIN from this file (instead of EBAK_HSM_PIN)', ['hsm', 'vault']),
  string('ring', 'name', 'the key ring', ['hsm']),
  string('purpose', 'purpose', 'what the ring\'s keys do: wrap or encrypt', ['hsm'], { default: 'wrap', check: checks.oneOf('--purpose', ['wrap', 'encrypt']) }),
  string('version', 'n', 'the key version to revoke', ['hsm'], { check: checks.positiveInteger('--version') }),
  string('reason', 'text', 'why the key version is revoked (recorded)', ['hsm']),
  boolean('destroy', 'also destroy the revoked key version', ['hsm']),
  string('out', 'file', 'where hsm backup writes the backup', ['hsm']),
  string('in', 'file', 'the backup hsm restore reads', ['hsm']),
  string('cluster-key-file', 'file', 'install the cluster key-backup key from this file (every further token of the cluster)', ['hsm']),
  string('new-cluster-key-file', 'file', 'create a new cluster key-backup key in this new file (the first token)', ['hsm']),
  string('so-pin-file', 'file', 'read the token security officer PIN from this file (installing a cluster key)', ['hsm']),

  // attestation verify
  string('platform', 'platform', 'the document format: nitro, sev-snp or tpm', ['attestation'], { default: 'recognised from the bytes', check: checks.oneOf('--platform', ['nitro', 'sev-snp', 'tpm']) }),
  string('root', 'pem', 'the attestation root (the AWS Nitro root G1, or the dev CA root) (nitro, required)', ['attestation']),
  string('at', 'ISO time', 'verify as of this time', ['attestation'], { default: 'now' }),
  string('nonce', 'hex', 'the nonce the document (nitro) or quote (tpm, required) must carry', ['attestation']),
  string('expect-pcr', 'i=hex', 'a PCR value the document or quote must have', ['attestation'], { multiple: true }),
  boolean('allow-debug', 'accept a debug-mode enclave or guest (nitro: its PCRs are zero; sev-snp: its policy allows debugging)', ['attestation']),
  string('max-age', 'seconds', 'the oldest document accepted (nitro)', ['attestation'], { default: '300' }),
  string('cert', 'der|pem', 'the VCEK or VLEK certificate that signed the report (sev-snp, required)', ['attestation']),
  string('chain', 'pem', 'sev-snp: the ASK and ARK; tpm: the provider CA the AK certificate chains to (required)', ['attestation']),
  string('expect-measurement', 'hex', 'the launch measurement the report must have (sev-snp)', ['attestation']),
  string('report-data', 'hex', 'the report_data the report must have, zero-padded to 64 bytes (sev-snp)', ['attestation']),
  string('min-tcb', 'BL/TEE/SNP/UCODE', 'the lowest reported TCB accepted (sev-snp)', ['attestation']),
  string('signature', 'file', 'the quote signature: TPMT_SIGNATURE, DER ECDSA or raw RSA (tpm, required)', ['attestation']),
  string('ak-cert', 'der|pem', 'the attestation key certificate (tpm, required)', ['attestation']),
  string('event-log', 'file', 'a TCG crypto-agile event log to replay against the quote (tpm)', ['attestation']),

  // vault
  string('dir', 'dir', 'the vault directory (state, logs)', ['vault'], { default: 'ebak-vault' }),
  string('state', 'file|postgres://…', 'the vault state store', ['vault'], { default: '<dir>/state.db' }),
  string('listen', 'host:port', 'the address vault serve listens on', ['vault'], { default: '127.0.0.1:8443' }),
  string('mode', 'mode', 'simulated (dev CA) or nitro (an AWS Nitro enclave)', ['vault'], { default: 'simulated', check: checks.oneOf('--mode', ['simulated', 'nitro']) }),
  string('guess-limit', 'n', 'wrong passwords an account may try before it locks (1..100)', ['vault'], { check: checks.integerIn('--guess-limit', 1, 100) }),
  string('lockout', 'kind', 'what a locked account needs: permanent or recovery', ['vault'], { check: checks.oneOf('--lockout', ['permanent', 'recovery']) }),
  string('registration', 'kind', 'who may register: invite or open', ['vault'], { default: 'invite', check: checks.oneOf('--registration', ['open', 'invite']) }),
  string('operator-key', 'public pem', 'the operator\'s public key (signs invitations, reads the status)', ['vault']),
  string('operator-key-file', 'pem', 'the operator\'s private key (status, invite, audit verify)', ['vault']),
  string('opaque-threads', 'n', 'worker threads computing OPAQUE login starts (0: on the main thread)', ['vault'], { default: '1', check: checks.integerIn('--opaque-threads', 0, 64) }),
  string('max-accounts', 'n', 'the most accounts the vault holds', ['vault'], { check: checks.positiveInteger('--max-accounts') }),
  string('rate-per-address', 'n', 'requests a minute from one client address (also the burst)', ['vault'], { default: '600 (burst 300)', check: checks.positiveInteger('--rate-per-address') }),
  string('rate-per-account', 'n', 'counted guesses and device requests a minute for one account (also the burst)', ['vault'], { default: '60', check: checks.positiveInteger('--rate-per-account') }),
  string('rate-register', 'n', 'registrations a minute from one client address (also the burst)', ['vault'], { default: '2 (burst 20)', check: checks.positiveInteger('--rate-register') }),
  string('proxy-protocol-from', 'CIDR[,CIDR]', 'proxies whose connections start with a PROXY protocol v2 header naming the client (its address is then the one rate limits see); their connections without one are refused', ['vault'], { check: checks.cidrList('--proxy-protocol-from') }),
  string('nsm-helper', 'path', 'the Nitro attestation helper (nitro mode)', ['vault'], { default: '/usr/local/bin/nsm-attest' }),
  string('devca', 'dir', 'the dev CA standing in for the Nitro hypervisor (simulated mode)', ['vault'], { default: 'ebak-devca' }),
  string('platform', 'nitro|sev-snp', 'what the vault attests with (serve: sev-snp is simulated only), and whose measurement measure prints', ['vault'], { default: 'nitro', check: checks.oneOf('--platform', ['nitro', 'sev-snp']) }),
  string('snp-devchain', 'dir', 'the dev ARK/ASK/VCEK chain standing in for AMD\'s (serve --platform sev-snp; devca --platform sev-snp)', ['vault'], { default: 'ebak-snp-devchain' }),
  string('kms-key-id', 'id', 'the key service key that releases the vault secrets', ['vault'], { env: 'EBAK_KMS_KEY_ID' }),
  string('kms-endpoint', 'url', 'the key service endpoint', ['vault'], { env: 'EBAK_KMS_ENDPOINT', default: 'AWS KMS of the region' }),
  string('kms-region', 'region', 'the key service region', ['vault'], { default: 'AWS_REGION, else us-east-1' }),
  string('kms-ca', 'pem', 'a CA the key service certificate chains to', ['vault'], { env: 'EBAK_KMS_CA' }),
  string('hsm-pin-kms', 'file', 'the HSM PIN encrypted for the enclave (made by vault provision-pin)', ['vault'], { env: 'EBAK_HSM_PIN_KMS' }),
  string('delete-credentials', 'file', 'the storage credentials that can delete, per account: the vault deletes what retention allows (simulated mode)', ['vault']),
  string('delete-credentials-kms', 'file', 'the same credentials sealed to the enclave (made by vault provision-delete-credentials; any mode)', ['vault']),
  string('credentials-file', 'file', 'the delete credentials document provision-delete-credentials encrypts', ['vault']),
  string('vault', 'url', 'the vault (status, unlock, audit verify)', ['vault']),
  string('account', 'name', 'the account to unlock', ['vault']),
  string('root', 'pem', 'the attestation root the audit log\'s boots chain to (audit verify)', ['vault']),
  string('uses', 'n', 'how many registrations the invitation allows (1..1000000)', ['vault'], { default: '1', check: checks.integerIn('--uses', 1, 1_000_000) }),
  string('expires-days', 'n', 'days until the invitation expires (at most 3650)', ['vault'], { default: '7', check: checks.daysUpTo('--expires-days', 3650) }),
  string('out', 'file', 'where operator-key, provision-pin and provision-delete-credentials write', ['vault']),
  string('out', 'file', 'device add --write-only: write the one-time enrollment code to this file (mode 0600) instead of printing it', ['device']),
  boolean('key-policy', 'print the KMS key policy that releases the vault secrets to this build (measure)', ['vault']),

  // The client's trust in a vault (login, vault status/unlock/audit verify).
  string('vault', 'url', 'the vault to log in to', ['login'], { env: 'EBAK_VAULT' }),
  string('device', 'name', 'the name of this device in the vault', ['login'], { default: 'this hostname' }),
  string('enroll', 'code', 'enroll this host as the write-only device whose one-time code `ebak device add --write-only` printed (no password)', ['login']),
  string('enroll-file', 'file', 'as --enroll, reading the code from the first line of this file', ['login']),
  string('vault-root', 'pem', 'the attestation root the vault must chain to', ['login', 'vault'], { env: 'EBAK_VAULT_ROOT', default: 'the AWS Nitro root G1' }),
  string('measurements', 'file', 'the vault measurements (PCRs) to pin', ['login', 'vault'], { env: 'EBAK_VAULT_MEASUREMENTS', default: "this build's own vault" }),
  boolean('allow-debug', 'trust a debug-mode vault enclave or SEV-SNP guest (testing only)', ['login', 'vault'], { env: 'EBAK_VAULT_ALLOW_DEBUG' }),
  string('vault-platform', 'list', 'the platforms the vault may attest with: nitro, sev-snp or both (comma-separated)', ['login', 'vault'], { env: 'EBAK_VAULT_PLATFORM', default: 'nitro' }),
  string('snp-chain', 'pem', 'the ASK and ARK a SEV-SNP vault\'s VCEK must chain to (its ARK is pinned)', ['login', 'vault'], { env: 'EBAK_VAULT_SNP_CHAIN' }),
  string('snp-measurement', 'hex', 'the SEV-SNP launch measurement to pin', ['login', 'vault'], { env: 'EBAK_VAULT_SNP_MEASUREMENT', default: "this build's own vault" }),
  string('snp-min-tcb', 'BL/TEE/SNP/UCODE', 'the lowest TCB a SEV-SNP vault may report', ['login', 'vault'], { env: 'EBAK_VAULT_SNP_MIN_TCB' }),

  // keyservice
  string('dir', 'dir', 'the key service directory (keys, TLS certificate)', ['keyservice']),
  string('listen', 'host:port', 'the address keyservice serve listens on', ['keyservice'], { default: '127.0.0.1:8444' }),
  string('root', 'pem', 'the attestation root Recipient documents must chain to (serve)', ['keyservice']),
  string('policy', 'file', 'the key policy of keys created without one', ['keyservice']),
] as const;

export const FLAGS: readonly FlagSpec[] = TABLE;

type Flag = (typeof TABLE)[number];
/** The flags of command `C` (none for a command without flags; a union of names: the flags of any; '*': the global ones). */
type Of<C extends string, F = Flag> = F extends { readonly commands: readonly (infer K)[] } ? (Extract<C, K> extends never ? never : F) : never;
type Names<F> = F extends { readonly name: infer N extends string } ? N : never;

/**
 * A command's flags as parseFlags returns them, typed from the table: a
 * flag the schema does not give the command, or a value read from the
 * wrong kind (a list as a value), is a compile error.
 */
export interface FlagsOf<C extends string> {
  readonly positionals: string[];
  /** String flags: the last value given, else the flag's environment variable. */
  readonly values: { readonly [K in Names<Exclude<Extract<Of<C>, { type: 'string' }>, { multiple: true }>>]?: string };
  /** Repeatable flags: every value given. */
  readonly lists: { readonly [K in Names<Extract<Of<C>, { multiple: true }>>]?: string[] };
  /** Boolean flags: true when given (or their variable is 1). */
  readonly switches: { readonly [K in Names<Extract<Of<C>, { type: 'boolean' }>>]?: boolean };
}

/** Environment variables no flag stands for (those that stand behind a flag are listed from FLAGS). */
const ENV_ONLY: readonly VariableSpec[] = [
  { name: 'EBAK_PASSWORD', help: 'the repository (or vault) password' },
  { name: 'EBAK_CONFIG_DIR', help: "this machine's vault device sessions", default: '~/.config/ebak' },
  { name: 'EBAK_HSM_PIN', help: 'the HSM user PIN', flag: '--pin-file' },
  { name: 'EBAK_S3_OBJECT_LOCK_DAYS', help: 'S3 Object Lock retention of objects written (S3 only; overrides the repository config)' },
  { name: 'EBAK_S3_OBJECT_LOCK_MODE', help: 'S3 Object Lock mode with EBAK_S3_OBJECT_LOCK_DAYS: COMPLIANCE or GOVERNANCE' },
  { name: 'EBAK_S3_RESTORE_POLL_SECONDS', help: 'seconds between checks while S3 restores archived packs' },
  { name: 'EBAK_S3_RESTORE_TIMEOUT', help: 'seconds one run waits for S3 to restore archived packs' },
  { name: 'EBAK_FROM_PASSWORD', help: 'copy: the source repository\'s password' },
  { name: 'EBAK_FROM_RECOVERY_KEY_FILE', help: 'copy: a recovery key file for the source repository' },
  { name: 'EBAK_DEBUG', help: 'print a stack trace on an unexpected error' },
  { name: 'EBAK_TEST_FAST_KDF', help: 'tests only: 1 gives new password key files a token Argon2id cost (64 KiB, 1 pass) instead of 64 MiB, 3 passes; never set it otherwise' },
  { name: 'EBAK_TEST_NOW', help: 'tests only: the clock (ISO 8601) of local retention decisions (forget, check, retention); never set it otherwise' },
  // The AWS tools' own variables ebak honours, as the AWS CLI does (environment.ts `awsEnvironment`).
  { name: 'AWS_ACCESS_KEY_ID', help: 'S3 and the key service: the access key (with AWS_SECRET_ACCESS_KEY; keyservice serve: what its callers sign with)' },
  { name: 'AWS_SECRET_ACCESS_KEY', help: 'S3 and the key service: the secret key of AWS_ACCESS_KEY_ID' },
  { name: 'AWS_SESSION_TOKEN', help: 'S3 and the key service: the session token of temporary credentials' },
  { name: 'AWS_PROFILE', help: 'S3: the profile of the AWS configuration files (when no keys are given)' },
  { name: 'AWS_REGION', help: 'S3 and the key service: the region (S3 without it: AWS_DEFAULT_REGION, else the profile\'s; a custom S3 endpoint and the key service: us-east-1)' },
  { name: 'AWS_DEFAULT_REGION', help: 'S3: the region when AWS_REGION is not set' },
  { name: 'AWS_CA_BUNDLE', help: 'S3: a PEM file of CA certificates to trust besides the public roots' },
  { name: 'NODE_EXTRA_CA_CERTS', help: 'S3: as AWS_CA_BUNDLE (Node\'s own variable, also honoured by the S3 client)' },
];

/** Every variable ebak reads: the EBAK_* ones behind flags (once each), then the environment-only ones (the AWS tools' last). */
export const VARIABLES: readonly VariableSpec[] = [
  ...[...new Map(FLAGS.filter((f) => f.env !== undefined).map((f) => [f.env!, { name: f.env!, help: f.help, flag: `--${f.name}`, ...(f.default ? { default: f.default } : {}) }])).values()],
  ...ENV_ONLY,
];

/** The flags of `command` itself (no global ones). */
export function ownFlags(command: string): FlagSpec[] {
  return FLAGS.filter((f) => f.commands.includes(command));
}

/** The global flags. */
export const globalFlags = (): FlagSpec[] => ownFlags(GLOBAL);
