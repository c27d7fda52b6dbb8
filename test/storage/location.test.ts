/** Location strings: the documented forms, canonical printing, and refusals that never echo a secret. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatLocation, parseLocation } from '../../src/storage/location.js';
import { rejectsWith } from './conformance.js';
import { isEbakError, type EbakError } from '../../src/errors.js';

const cases: [string, unknown, string][] = [
  ['/srv/backup', { kind: 'local', path: '/srv/backup' }, '/srv/backup'],
  ['relative/dir', { kind: 'local', path: 'relative/dir' }, 'relative/dir'],
  ['s3:https://s3.example.com/bucket', { kind: 's3', endpoint: 'https://s3.example.com', bucket: 'bucket', prefix: '' }, 's3:https://s3.example.com/bucket'],
  ['s3:https://127.0.0.1:9000/my-bucket/a/b/', { kind: 's3', endpoint: 'https://127.0.0.1:9000', bucket: 'my-bucket', prefix: 'a/b' }, 's3:https://127.0.0.1:9000/my-bucket/a/b'],
  ['s3:http://localhost:9000/bkt/x', { kind: 's3', endpoint: 'http://localhost:9000', bucket: 'bkt', prefix: 'x' }, 's3:http://localhost:9000/bkt/x'],
  ['s3:HTTPS://Host.Example:443/bkt', { kind: 's3', endpoint: 'https://host.example', bucket: 'bkt', prefix: '' }, 's3:https://host.example/bkt'],
  ['s3:my.bucket/backups/host1', { kind: 's3', bucket: 'my.bucket', prefix: 'backups/host1' }, 's3:my.bucket/backups/host1'],
  ['s3:bkt', { kind: 's3', bucket: 'bkt', prefix: '' }, 's3:bkt'],
  // restic's own forms: an explicit local prefix, and AWS's endpoint written before the bucket.
  ['local:/srv/backup', { kind: 'local', path: '/srv/backup' }, '/srv/backup'],
  ['s3:s3.amazonaws.com/bucket/a', { kind: 's3', bucket: 'bucket', prefix: 'a' }, 's3:bucket/a'],
  ['s3:s3.eu-west-1.amazonaws.com/bucket', { kind: 's3', endpoint: 'https://s3.eu-west-1.amazonaws.com', bucket: 'bucket', prefix: '' }, 's3:https://s3.eu-west-1.amazonaws.com/bucket'],
  ['./sftp:x', { kind: 'local', path: './sftp:x' }, './sftp:x'],
];

it('parses every documented location form and prints it canonically', () => {
  assert.equal(cases.length, 12);
  for (const [text, want, printed] of cases) {
    const got = parseLocation(text);
    assert.deepEqual(got, want, text);
    assert.equal(formatLocation(got), printed);
  }
});

it('refuses malformed S3 locations with USAGE, never echoing credentials', async () => {
  const bad = ['', 's3:', 's3:Bad_Bucket', 's3:ab', 's3:https://host', 's3:https://host/b..x', 's3:ftp://host/bkt', 's3:https://host/bkt/../x', 's3:https://host/bkt?x=1', 's3:https://key:hunter2secret@host/bkt'];
  for (const text of bad) {
    await rejectsWith((async () => parseLocation(text))(), 'USAGE');
    try {
      parseLocation(text);
    } catch (e) {
      assert.ok(!String((e as Error).message).includes('hunter2secret'), text);
    }
  }
});

it('refuses the backends restic has and ebak does not, instead of making a directory of that name', async () => {
  for (const text of ['sftp:user@host:/x', 'rest:http://host:8000/', 'b2:bucket:path', 'rclone:remote:path', 'azure:container:/', 'gs:bucket:/', 'swift:container:/', 'smb://host/share']) {
    const e = refusal(text);
    assert.match(e.message, /not supported/, text);
    assert.ok(!e.message.includes('user@'), 'never echoes the location\'s user part');
  }
});

it('says how to write a non-AWS endpoint given restic-style (host before bucket)', async () => {
  const e = refusal('s3:minio.local:9000/bucket');
  assert.match(e.hint ?? '', /s3:https:\/\/minio\.local:9000\/bucket/);
});

function refusal(text: string): EbakError {
  try {
    parseLocation(text);
  } catch (e) {
    assert.ok(isEbakError(e) && e.code === 'USAGE', `${text}: ${String(e)}`);
    return e;
  }
  assert.fail(`${text} was accepted`);
}
