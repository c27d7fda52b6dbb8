/**
 * Terminal output: prose on stdout, warnings on stderr, progress only on a
 * TTY, JSON under --json (one document, or NDJSON records). The global
 * --quiet and --verbose (restic's) are applied here, once for every
 * command: --quiet drops progress and informational lines, --verbose lets
 * detail lines through; neither touches --json output, warnings or errors.
 */
import type { Output } from './command.js';

export interface Verbosity {
  readonly quiet?: boolean;
  readonly verbose?: boolean;
}

export class TerminalOutput implements Output {
  private progressShown = false;
  private lastProgress = 0;
  readonly quiet: boolean;
  readonly verbose: boolean;

  constructor(readonly json: boolean, verbosity: Verbosity = {}, private readonly tty = Boolean(process.stderr.isTTY)) {
    this.quiet = verbosity.quiet === true;
    this.verbose = verbosity.verbose === true;
  }

  line(text: string): void {
    if (this.json) return;
    this.clearProgress();
    process.stdout.write(text + '\n');
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

  warn(text: string): void {
    this.clearProgress();
    process.stderr.write(`warning: ${text}\n`);
  }

  progress(text: string): void {
    if (!this.tty || this.quiet) return;
    const now = Date.now();
    if (now - this.lastProgress < 200) return;
    this.lastProgress = now;
    process.stderr.write(`\r\x1b[K${text}`);
    this.progressShown = true;
  }

  clearProgress(): void {
    if (this.progressShown) process.stderr.write('\r\x1b[K');
    this.progressShown = false;
  }
}
