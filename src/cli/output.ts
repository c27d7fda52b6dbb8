/** Terminal output: prose on stdout, warnings on stderr, progress only on a TTY, JSON under --json. */
import type { Output } from './command.js';

export class TerminalOutput implements Output {
  private progressShown = false;
  private lastProgress = 0;

  constructor(readonly json: boolean, private readonly tty = Boolean(process.stderr.isTTY)) {}

  line(text: string): void {
    if (this.json) return;
    this.clearProgress();
    process.stdout.write(text + '\n');
  }

  result(value: unknown): void {
    if (this.json) process.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  warn(text: string): void {
    this.clearProgress();
    process.stderr.write(`warning: ${text}\n`);
  }

  progress(text: string): void {
    if (!this.tty) return;
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
