/**
 * Benchmark: S3 backend throughput against a local s3rver over HTTPS through
 * the full openBackend stack. Run: `npx tsc -p . && node dist/bench/s3.js [MiB]`.
 * s3rver (a Node filesystem server on the same 2 cores) bounds these figures,
 * not the network; they show overhead and that nothing is pathologically slow.
 */
import { randomBytes } from 'node:crypto';
import { awsEnvironment } from '../src/config/index.js';
import { openBackend } from '../src/storage/open.js';
import { S3RVER_ENV, startS3rver } from '../test/storage/s3server.js';

const MiB = 1024 * 1024;
const totalMiB = Number(process.argv[2] ?? 128);

async function timed(label: string, bytes: number, fn: () => Promise<unknown>): Promise<void> {
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  console.log(`${label.padEnd(34)} ${(bytes / MiB / s).toFixed(1).padStart(7)} MiB/s  (${s.toFixed(2)} s)`);
}

const server = await startS3rver();
try {
  const b = await openBackend(`s3:${server.endpoint}/bench`, awsEnvironment({ ...S3RVER_ENV, AWS_CA_BUNDLE: server.tls.certFile }));
  await b.create();
  for (const size of [4 * MiB, 32 * MiB]) {
    const n = Math.max(1, Math.floor((totalMiB * MiB) / size));
    const items = Array.from({ length: n }, () => ({ h: { type: 'data' as const, name: randomBytes(32).toString('hex') }, data: randomBytes(size) }));
    const kind = size > 16 * MiB ? 'multipart' : 'single PUT';
    await timed(`save ${n} x ${size / MiB} MiB (${kind})`, n * size, () => Promise.all(items.map((i) => b.save(i.h, i.data, { packKind: 'data' }))));
    await timed(`load ${n} x ${size / MiB} MiB`, n * size, () => Promise.all(items.map((i) => b.load(i.h))));
  }
  console.log('requests', JSON.stringify(b.requests()));
  await b.close();
} finally {
  await server.stop();
}
