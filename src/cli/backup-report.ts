/**
 * What `ebak backup` prints while it runs, as restic does. On a terminal:
 * a progress line with the percent of what the size scan has found so far
 * (from the start; src/cli/progress.ts). Under --json, restic's JSON lines
 * on stdout: a `status` message about once a second, a `verbose_status`
 * per file and per directory under --verbose, with restic 0.17's fields
 * (ui/backup/json.go: data_size and data_size_in_repo for a file,
 * metadata_size and metadata_size_in_repo, its tree, for a directory, whose
 * item ends in "/"; all zero for what is unchanged), and `scan_finished`
 * when the scan is done;
 * and an `error` message on stderr per entry skipped, beside its warning
 * line. --quiet drops the progress and the status messages (restic: none
 * under --quiet); the summary is the command's to print.
 */
import type { Progress } from '../archiver/index.js';
import type { ScanTotal } from '../archiver/scan.js';
import type { ItemStatus } from '../archiver/report.js';
import type { BackupEvent } from '../operations/index.js';
import type { Output } from './command.js';
import { backupLine, backupStatus, showsProgress } from './progress.js';

const STATUS_EVERY_MS = 1000;

export class BackupReport {
  readonly total: ScanTotal = { files: 0, bytes: 0, done: false };
  private last: Progress = { files: 0, bytes: 0, errors: 0, current: [] };
  /** The directories below the root by status: restic's summary dirs_new, dirs_changed, dirs_unmodified. */
  readonly dirs: Record<ItemStatus, number> = { new: 0, changed: 0, unchanged: 0 };
  private timer: NodeJS.Timeout | undefined;
  private started = Date.now();

  /** Whether progress lines are shown (a terminal, neither --quiet nor --json). */
  private readonly showing: boolean;

  constructor(private readonly out: Output) {
    this.showing = showsProgress(out);
  }

  /** Whether a size scan is worth running: something shows a total. */
  get wantsTotal(): boolean {
    return (this.out.json && !this.out.quiet) || showsProgress(this.out);
  }

  /** The backup starts (the repository is open): the clock of the rate and ETA, and the status messages of --json until `stop`. */
  start(): void {
    this.started = Date.now();
    if (!this.out.json || this.out.quiet) return;
    this.timer = setInterval(() => this.out.record(backupStatus(this.last, this.total, this.elapsed())), STATUS_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The scan has finished: restic's `scan_finished` verbose message. */
  scanned(ms: number): void {
    if (this.out.verbose) this.out.record({ message_type: 'verbose_status', action: 'scan_finished', duration: ms / 1000, data_size: this.total.bytes, total_files: this.total.files });
  }

  readonly onEvent = (e: BackupEvent): void => {
    if (e.type === 'warning') this.out.warn(e.message);
    else if (e.type === 'skipped') this.out.errorRecord({ message_type: 'error', error: { message: e.message }, during: 'archival', item: e.item });
    else if (e.type === 'file') this.file(e);
    else if (e.type === 'dir') this.dir(e);
    else {
      this.last = e;
      // Built only where it is shown: a line per chunk was a small file's largest piece of garbage here.
      if (this.showing) this.out.progress(backupLine(e, this.total, this.elapsed()));
    }
  };

  private file(e: Extract<BackupEvent, { type: 'file' }>): void {
    if (!this.out.verbose) return; // detail lines and verbose_status records are --verbose's alone
    const item = e.path.toString();
    if (e.status !== 'unchanged') this.out.detail(`${e.status === 'new' ? 'new     ' : 'modified'}  ${item}`);
    this.verboseStatus(e.status, item, e.ms, { data_size: e.added, data_size_in_repo: e.stored, metadata_size: 0, metadata_size_in_repo: 0 });
  }

  private dir(e: Extract<BackupEvent, { type: 'dir' }>): void {
    this.dirs[e.status]++;
    if (this.out.verbose) this.verboseStatus(e.status, `${e.path.toString()}/`, e.ms, { data_size: 0, data_size_in_repo: 0, metadata_size: e.added, metadata_size_in_repo: e.stored });
  }

  private verboseStatus(status: ItemStatus, item: string, ms: number, sizes: Record<'data_size' | 'data_size_in_repo' | 'metadata_size' | 'metadata_size_in_repo', number>): void {
    const action = status === 'changed' ? 'modified' : status;
    // As restic: what is unchanged took no time and added nothing.
    this.out.record({ message_type: 'verbose_status', action, item, duration: status === 'unchanged' ? 0 : ms / 1000, ...sizes, total_files: this.last.files });
  }

  private elapsed(): number {
    return Date.now() - this.started;
  }
}
