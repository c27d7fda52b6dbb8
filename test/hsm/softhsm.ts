/**
 * Test helper: a throwaway SoftHSM2 token directory for this test process.
 * SOFTHSM2_CONF is read at C_Initialize, so call `softhsm()` before opening
 * any token, and create every token the file needs up front.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pkcs11Config } from '../../src/hsm/pkcs11.js';

export const MODULE = '/usr/lib/softhsm/libsofthsm2.so';
export const PIN = '1234';
export const SO_PIN = '5678';

export interface SoftHsm {
  readonly dir: string;
  config(token: string): Pkcs11Config;
  cleanup(): void;
}

export function softhsm(tokens: readonly string[], extraConf = ''): SoftHsm {
  const dir = mkdtempSync(join(tmpdir(), 'ebak-hsm-'));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n${extraConf}\n`);
  process.env.SOFTHSM2_CONF = conf;
  for (const label of tokens) {
    execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', PIN, '--so-pin', SO_PIN], { env: process.env, stdio: 'ignore' });
  }
  return {
    dir,
    config: (token) => ({ module: MODULE, token, pin: PIN }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
