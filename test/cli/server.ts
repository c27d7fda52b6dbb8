/** Test helper: a long-running ebak command (`vault serve`, `keyservice serve`) as a child process, once it listens. */
import { startEbak, type RunResult } from './harness.js';

export interface Server {
  url: string;
  /** The server's process id (a bench reads its CPU time). */
  pid: number;
  /** SIGTERM, then the exit code and output. */
  stop(): Promise<RunResult>;
}

/** Starts `ebak <args>` and resolves with the URL it prints once listening; rejects with its stderr if it exits first. */
export async function startServer(args: string[], env: Record<string, string | undefined>): Promise<Server> {
  const serve = startEbak(args, env);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    serve.child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (https:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void serve.done.then((r) => reject(new Error(`ebak ${args.slice(0, 2).join(' ')} exited: ${r.stderr}`)));
  });
  return {
    url,
    pid: serve.child.pid!,
    stop: () => {
      serve.child.kill('SIGTERM');
      return serve.done;
    },
  };
}
