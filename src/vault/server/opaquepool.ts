/**
 * The server's OPAQUE login starts (KE2, ~1 ms of CPU each) off the event
 * loop: worker threads (opaqueworker.ts) that got the server setup once.
 * The starts asked for in one event-loop turn go as ONE message (a message
 * per start cost the main thread as much as it saved: docs/vault.md), and
 * each thread has at most two batches in flight, so starts arriving while
 * the threads are busy gather into the next batch. With 0 threads the
 * starts run inline, on the caller's thread.
 *
 * A request OPAQUE refuses is a bad_request (opaque.ts), as inline.
 */
import { Worker } from 'node:worker_threads';
import * as opaque from '@serenity-kit/opaque';
import { malformed, opaqueCall } from './opaque.js';

export interface LoginStart {
  /** The account's registration record; null: RFC 9807's fake KE2 for an unknown account. */
  registrationRecord: string | null;
  startLoginRequest: string;
  userIdentifier: string;
}

export interface Ke2 {
  serverLoginState: string;
  loginResponse: string;
}

interface Call {
  what: string;
  start: LoginStart;
  resolve(v: Ke2): void;
  reject(e: unknown): void;
}

interface Thread {
  worker: Worker;
  /** Batches sent and not answered yet, oldest first. */
  inFlight: Call[][];
  /** The exception that ended the thread, if one did. */
  error?: Error;
}

/** Batches in flight per thread: one computing, one waiting behind it, so a thread never idles while its reply travels. */
const DEPTH = 2;
/** Threads that ended replaced per minute; past it the pool fails (a thread that cannot start would otherwise respawn for ever). */
const RESPAWNS_PER_MINUTE = 3;

export class OpaquePool {
  private readonly threads: Thread[];
  private queue: Call[] = [];
  private scheduled = false;
  private failed?: Error;
  private closing = false;
  /** When threads ended, the last minute's. */
  private ends: number[] = [];

  /** `entry`: the thread's module (a test wraps the real one to make it fail). */
  constructor(private readonly setup: string, threads: number, private readonly entry = new URL('./opaqueworker.js', import.meta.url)) {
    this.threads = Array.from({ length: threads }, () => this.spawn());
  }

  private spawn(): Thread {
    const t: Thread = { worker: new Worker(this.entry, { workerData: { setup: this.setup } }), inFlight: [] };
    t.worker.on('message', (out: string[]) => this.settle(t, out));
    // An exception ends the thread ('error', then 'exit'); so may the runtime (out of memory).
    t.worker.on('error', (e) => { t.error = e; });
    t.worker.on('exit', () => this.replace(t));
    t.worker.unref(); // referenced only while it has work: an idle pool never keeps the process alive
    return t;
  }

  /** A thread ended: what it had in flight fails (an internal error, no answer left), and a new thread takes its place. */
  private replace(t: Thread): void {
    if (this.closing || this.failed) return;
    const why = new Error(`the OPAQUE worker thread ended (${t.error?.message ?? 'it exited'})`);
    for (const c of t.inFlight.flat()) c.reject(why);
    t.inFlight = [];
    const now = Date.now();
    this.ends = [...this.ends.filter((at) => now - at < 60_000), now];
    if (this.ends.length > RESPAWNS_PER_MINUTE) return this.fail(new Error(`${why.message}; ${this.ends.length} threads ended within a minute, not restarted`));
    this.threads[this.threads.indexOf(t)] = this.spawn();
    this.send();
  }

  startLogin(what: string, start: LoginStart): Promise<Ke2> {
    if (this.threads.length === 0) return new Promise((resolve) => resolve(opaqueCall(what, () => opaque.server.startLogin({ serverSetup: this.setup, ...start }))));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise<Ke2>((resolve, reject) => {
      this.queue.push({ what, start, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.send);
      }
    });
  }

  /** The queued starts as one batch to the thread with the fewest in flight, if one has room; else they wait for a reply. */
  private readonly send = (): void => {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const t = this.threads.reduce((a, b) => (b.inFlight.length < a.inFlight.length ? b : a));
    if (t.inFlight.length >= DEPTH) return;
    const batch = this.queue;
    this.queue = [];
    if (t.inFlight.length === 0) t.worker.ref();
    t.inFlight.push(batch);
    t.worker.postMessage(batch.flatMap((c) => [c.start.registrationRecord ?? '', c.start.startLoginRequest, c.start.userIdentifier]));
  };

  private settle(t: Thread, out: string[]): void {
    const batch = t.inFlight.shift()!;
    if (t.inFlight.length === 0) t.worker.unref();
    batch.forEach((c, i) => {
      const [serverLoginState, loginResponse] = [out[2 * i]!, out[2 * i + 1]!];
      if (loginResponse === '') c.reject(malformed(c.what));
      else c.resolve({ serverLoginState, loginResponse });
    });
    this.send();
  }

  /** Threads keep ending: every start waiting or in flight fails (an internal error), and so do later ones. */
  private fail(e: Error): void {
    this.failed = e;
    for (const c of [...this.queue, ...this.threads.flatMap((t) => t.inFlight.flat())]) c.reject(e);
    this.queue = [];
  }

  close(): Promise<unknown> {
    this.closing = true;
    return Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}
