/**
 * `ebak keyservice serve|create-key`: a thin layer over src/kms/simulated,
 * the simulated AWS KMS that releases secrets only to attested enclaves.
 * Callers authenticate with SigV4 under AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY
 * (the service takes the same pair from its environment); key ARNs carry AWS_REGION.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadRoot } from '../../attestation/index.js';
import { awsEnvironment, type ParsedFlags } from '../../config/index.js';
import { EbakError } from '../../errors.js';
import { createKey, startKeyService } from '../../kms/simulated/index.js';
import { defineCommand, type Context } from '../command.js';

const USAGE = [
  'ebak keyservice serve --dir <dir> [--listen 127.0.0.1:8444] --root <pem> [--policy <file>]',
  'ebak keyservice create-key --dir <dir> [--policy <file>]',
  '  serve: --root is the attestation root Recipient documents must chain to (the dev CA root in simulation);',
  '         --policy is the key policy of keys created over the API without one;',
  '         callers sign with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, which the service takes from its environment',
].join('\n');

type Values = ParsedFlags<'keyservice'>['values'];

async function readText(file: string, what: string): Promise<string> {
  return readFile(file, 'utf8').catch((e) => { throw new EbakError('USAGE', `cannot read the ${what} ${file}`, { cause: e }); });
}

function required(v: string | undefined, flag: string): string {
  if (v === undefined) throw new EbakError('USAGE', `${flag} is required`, { hint: USAGE });
  return v;
}

async function serve(v: Values, ctx: Context): Promise<void> {
  const dir = required(v.dir, '--dir');
  const root = loadRoot(await readText(required(v.root, '--root'), 'root'));
  const [host, port] = (v.listen ?? '127.0.0.1:8444').split(/:(?=\d+$)/);
  if (!host || !port) throw new EbakError('USAGE', '--listen is <host>:<port>');
  const aws = awsEnvironment(ctx.env);
  if (!aws.credentials) throw new EbakError('USAGE', 'the key service needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: the credentials its callers sign with');
  const service = await startKeyService({
    dir, host, port: Number(port), root, credentials: { accessKeyId: aws.credentials.accessKeyId, secretAccessKey: aws.credentials.secretAccessKey }, region: aws.region ?? 'us-east-1',
    ...(v.policy === undefined ? {} : { policy: await readText(v.policy, 'policy') }),
  });
  const ca = join(dir, 'tls', 'cert.pem');
  ctx.out.line(`key service listening on ${service.url} (clients trust ${ca})`);
  ctx.out.result({ url: service.url, ca });
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await service.close();
}

async function createKeyCommand(v: Values, ctx: Context): Promise<void> {
  const policy = v.policy === undefined ? undefined : await readText(v.policy, 'policy');
  const key = await createKey(required(v.dir, '--dir'), { region: awsEnvironment(ctx.env).region ?? 'us-east-1', ...(policy === undefined ? {} : { policy }) });
  ctx.out.line(key.KeyId);
  ctx.out.result({ KeyId: key.KeyId, Arn: key.Arn });
}

const SUB: Record<string, (v: Values, ctx: Context) => Promise<void>> = { serve, 'create-key': createKeyCommand };

export const keyserviceCommand = defineCommand({
  name: 'keyservice',
  usage: USAGE,
  async run({ values, positionals }, ctx) {
    const [sub, ...rest] = positionals;
    const fn = sub === undefined ? undefined : SUB[sub];
    if (!fn || rest.length > 0) throw new EbakError('USAGE', `unknown keyservice subcommand ${sub === undefined ? '(none)' : JSON.stringify(positionals.join(' '))}`, { hint: USAGE });
    await fn(values, ctx);
    return 0;
  },
});
