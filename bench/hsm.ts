/**
 * HSM throughput on a throwaway SoftHSM2 token: `node dist/bench/hsm.js [seconds]`.
 * Reports operations per second for wrap+unwrap pairs (32-byte secrets),
 * rewrap, seal+unseal (1 KiB records) and in-token AES-GCM (1 KiB).
 * Not a test: figures depend on the machine.
 */
import { randomBytes } from 'node:crypto';
import { Pkcs11Hsm, seal, unseal } from '../src/hsm/index.js';
import { softhsm } from '../test/hsm/softhsm.js';

const seconds = Number(process.argv[2] ?? 2);

async function rate(name: string, op: () => Promise<unknown>): Promise<[string, number]> {
  for (let i = 0; i < 50; i++) await op(); // warm-up
  const until = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < until) {
    await op();
    n++;
  }
  const perSecond = Math.round(n / ((performance.now() - start) / 1000));
  console.log(`${name.padEnd(34)} ${String(perSecond).padStart(8)} /s`);
  return [name, perSecond];
}

const env = softhsm(['bench']);
const hsm = await Pkcs11Hsm.open(env.config('bench'));
try {
  await hsm.createRing('kek', 'wrap');
  await hsm.createRing('enc', 'encrypt');
  const secret = randomBytes(32);
  const record = randomBytes(1024);
  const aad = { id: 'user/bench', version: 1 };
  const old = await hsm.wrap('kek', secret);
  await hsm.rotate('kek');
  const results = Object.fromEntries([
    await rate('wrap+unwrap pairs (32 B)', async () => (await hsm.unwrap(await hsm.wrap('kek', secret))).fill(0)),
    await rate('rewrap (v1 -> v2)', () => hsm.rewrap(old)),
    await rate('seal+unseal pairs (1 KiB)', async () => (await unseal(hsm, await seal(hsm, 'kek', record, aad), aad)).fill(0)),
    await rate('GCM encrypt+decrypt in token (1 KiB)', async () => hsm.decrypt(await hsm.encrypt('enc', record))),
  ]);
  console.log(JSON.stringify({ softhsm: '2.6.1', node: process.version, seconds, opsPerSecond: results }));
} finally {
  await hsm.close();
  env.cleanup();
}
