/**
 * `ebak hsm init|keys|rotate|revoke|backup|restore`: operator commands over
 * the PKCS#11 provider (SoftHSM2, CloudHSM). A thin layer over src/hsm.
 * Token selection: --module/EBAK_HSM_MODULE, --token/EBAK_HSM_TOKEN, PIN from
 * EBAK_HSM_PIN or --pin-file.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { environment, type ParsedFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { installClusterKey, Pkcs11Hsm, pkcs11ConfigFrom } from '../../hsm/index.js';
import type { KeyPurpose, KeyVersion } from '../../hsm/index.js';
import { defineCommand, type Context } from '../command.js';

const USAGE = [
  'ebak hsm init [--ring <name> [--purpose wrap|encrypt]] [--cluster-key-file <f> --so-pin-file <f> | --new-cluster-key-file <f> --so-pin-file <f>]',
  'ebak hsm keys',
  'ebak hsm rotate --ring <name>',
  'ebak hsm revoke --ring <name> --version <n> --reason <text> [--destroy]',
  'ebak hsm backup --out <file>',
  'ebak hsm restore --in <file>',
  '  token options: --module <so> (EBAK_HSM_MODULE) --token <label> (EBAK_HSM_TOKEN) --pin-file <f> (or EBAK_HSM_PIN)',
].join('\n');

type Values = ParsedFlags<'hsm'>['values'];

function usage(why: string): EbakError {
  return new EbakError('USAGE', `${why}; usage: ebak hsm ${USAGE.split('\n')[0]!.slice(9)}`, { hint: USAGE });
}

function need(values: Values, name: 'ring' | 'version' | 'reason' | 'out' | 'in'): string {
  const v = values[name];
  if (v === undefined || v === '') throw usage(`--${name} is required`);
  return v;
}

const SUBCOMMANDS: Record<string, (v: Values, ctx: Context, switches: ParsedFlags<'hsm'>['switches']) => Promise<unknown>> = {
  init: async (v, ctx) => {
    const cluster = await provisionCluster(v, ctx);
    if (v.ring === undefined) {
      if (cluster === undefined) throw usage('give --ring and/or a cluster key file');
      return { cluster };
    }
    const purpose = (v.purpose ?? 'wrap') as KeyPurpose; // checked by the schema
    const key = await withHsm(v, ctx, (h) => h.createRing(v.ring!, purpose));
    ctx.out.line(`created ${describe(key)}`);
    return { ...(cluster === undefined ? {} : { cluster }), key };
  },
  keys: async (v, ctx) => {
    const keys = await withHsm(v, ctx, (h) => h.keys());
    for (const k of keys) ctx.out.line(describe(k));
    if (keys.length === 0) ctx.out.line('no keys on this token');
    return { keys };
  },
  rotate: async (v, ctx) => {
    const key = await withHsm(v, ctx, (h) => h.rotate(need(v, 'ring')));
    ctx.out.line(`rotated: ${describe(key)}`);
    return { key };
  },
  revoke: async (v, ctx, switches) => {
    const version = Number(need(v, 'version')); // a positive integer: checked by the schema
    const ring = need(v, 'ring');
    const key = await withHsm(v, ctx, async (h) => {
      const revoked = await h.revoke(ring, version, need(v, 'reason'));
      return switches.destroy === true ? h.destroy(ring, version) : revoked;
    });
    ctx.out.line(`${key.state}: ${describe(key)}`);
    return { key };
  },
  backup: async (v, ctx) => {
    const out = need(v, 'out');
    const file = await withHsm(v, ctx, (h) => h.backup());
    // Write then rename: a crash never leaves a half-written backup under the final name.
    await writeFile(`${out}.tmp`, file, { mode: 0o600 });
    await rename(`${out}.tmp`, out);
    ctx.out.line(`wrote ${file.length}-byte HSM backup to ${out}`);
    return { file: out, bytes: file.length };
  },
  restore: async (v, ctx) => {
    const file = await readFile(need(v, 'in'));
    const report = await withHsm(v, ctx, (h) => h.restore(file));
    for (const k of report.restored) ctx.out.line(`restored ${describe(k)}`);
    return report;
  },
};

export const hsmCommand = defineCommand({
  name: 'hsm',
  usage: USAGE,
  async run({ values, switches, positionals }, ctx) {
    const [sub, ...extra] = positionals;
    const run = sub === undefined ? undefined : SUBCOMMANDS[sub];
    if (run === undefined) throw usage(`unknown hsm subcommand ${sub === undefined ? '(none)' : `"${sub}"`}`);
    if (extra.length > 0) throw usage(`unexpected argument "${extra[0]}"`);
    ctx.out.result(await run(values, ctx, switches));
    return 0;
  },
});

async function withHsm<T>(v: Values, ctx: Context, use: (h: Pkcs11Hsm) => Promise<T>): Promise<T> {
  const hsm = await Pkcs11Hsm.open(pkcs11ConfigFrom({ module: v.module, token: v.token, pinFile: v['pin-file'], pin: environment(ctx.env).hsmPin }), {
    audit: (e) => ctx.out.warn(`audit: ${e.type}${e.ring === undefined ? '' : ` ${e.ring} v${e.version}`}${e.detail === undefined ? '' : ` (${e.detail})`}`),
  });
  try {
    return await use(hsm);
  } finally {
    await hsm.close();
  }
}

/**
 * Installs the cluster key-backup key with the SO PIN: from an existing file
 * (every further token of the cluster), or a new random one written to a new
 * file (the first token). The operator moves that file to the next token and
 * destroys it after the last one: it is the KBK's only copy outside HSMs.
 */
async function provisionCluster(v: Values, ctx: Context): Promise<string | undefined> {
  const from = v['cluster-key-file'];
  const fresh = v['new-cluster-key-file'];
  if (from === undefined && fresh === undefined) return undefined;
  if (from !== undefined && fresh !== undefined) throw usage('give one of --cluster-key-file and --new-cluster-key-file');
  if (v['so-pin-file'] === undefined) throw usage('installing a cluster key needs --so-pin-file (the token security officer PIN)');
  // Same module/token resolution as every subcommand, with the SO PIN file as the PIN.
  const config = pkcs11ConfigFrom({ module: v.module, token: v.token, pinFile: v['so-pin-file'], pin: environment(ctx.env).hsmPin });
  const kbk = from !== undefined ? await readFile(from) : randomBytes(32);
  try {
    if (fresh !== undefined) await writeFile(fresh, kbk, { mode: 0o600, flag: 'wx' });
    await installClusterKey({ module: config.module, token: config.token, soPin: config.pin }, kbk);
  } finally {
    kbk.fill(0);
  }
  ctx.out.line(`installed the cluster key-backup key on token "${config.token}"${fresh === undefined ? '' : `; copy ${fresh} to the next token of the cluster, then destroy it`}`);
  return config.token;
}

function describe(k: KeyVersion): string {
  const flags = [k.current ? 'current' : '', k.state !== 'active' ? k.state : ''].filter((s) => s !== '').join(',');
  return `${k.ring} v${k.version} ${k.purpose} ${flags === '' ? '-' : flags} valid ${k.notBefore.toISOString()}..${k.notAfter.toISOString()} unwrap-until ${k.unwrapUntil.toISOString()}`;
}
