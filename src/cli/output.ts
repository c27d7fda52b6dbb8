/**
 * Terminal output: prose on stdout, warnings on stderr, progress only on a
 * TTY and never under --json (so no progress line runs into the JSON), JSON
 * under --json (one document, or NDJSON records; restic's error messages
 * on stderr). The global --quiet and --verbose (restic's) are applied here,
 * once for every command: --quiet drops progress and informational lines,
 * --verbose lets detail lines through; neither touches --json output,
 * warnings or errors.
 */
import type { Output } from './command.js';

export interface Verbosity {
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

/** Progress lines are redrawn at most this often. */
const PROGRESS_EVERY_MS = 200;

const NEWLINE = Buffer.from('\n');

export class TerminalOutput implements Output {
  private progressShown = false;
  private lastProgress = 0;
  /** A line that came within 200 ms of the last one drawn: drawn when they are up, unless a newer one or prose comes first. */
  private pending: NodeJS.Timeout | undefined;
  readonly quiet: boolean;
  readonly verbose: boolean;

  constructor(readonly json: boolean, verbosity: Verbosity = {}, private readonly tty = Boolean(process.stderr.isTTY)) {
    this.quiet = verbosity.quiet === true;
    this.verbose = verbosity.verbose === true;
  }

  line(text: string | Uint8Array): void {
    if (this.json) return;
    this.clearProgress();
    process.stdout.write(typeof text === 'string' ? text + '\n' : Buffer.concat([text, NEWLINE]));
  }

  info(text: string): void {
    if (!this.quiet) this.line(text);
  }

  detail(text: string): void {
    if (this.verbose) this.line(text);
  }

  result(value: unknown): void {
    if (this.json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  record(value: unknown): void {
    if (this.json) process.stdout.write(JSON.stringify(value) + '\n');
  }

  errorRecord(value: unknown): void {
    if (this.json) process.stderr.write(JSON.stringify(value) + '\n');
  }

  warn(text: string): void {
    this.clearProgress();
    process.stderr.write(`warning: ${text}\n`);
  }

  progress(text: string): void {
    if (!this.tty || this.quiet || this.json) return;
    clearTimeout(this.pending);
    const wait = this.lastProgress + PROGRESS_EVERY_MS - Date.now();
    if (wait > 0) {
      this.pending = setTimeout(() => this.draw(text), wait);
      this.pending.unref();
    } else this.draw(text);
  }

  clearProgress(): void {
    clearTimeout(this.pending);
    if (this.progressShown) process.stderr.write('\r\x1b[K');
    this.progressShown = false;
  }

  private draw(text: string): void {
    this.lastProgress = Date.now();
    process.stderr.write(`\r\x1b[K${text}`);
    this.progressShown = true;
  }
}
