/**
 * Test helper: S3 Object Lock retention played at the recording proxy
 * (s3rver ignores it). Lock headers on uploads and PutObjectRetention
 * requests (answered here, never forwarded: s3rver would store the XML as
 * the object) set an object's date; HEAD answers carry it; every
 * PutObjectRetention is kept with the date the object had before, so a test
 * can say which objects were extended, to when, and that none was shortened.
 */
import type { Fault, Recorded, S3Proxy } from './proxy.js';

export interface Extension {
  /** Object key inside the bucket. */
  readonly key: string;
  readonly mode: string;
  readonly until: number;
  /** Its date before this request (undefined: none known). */
  readonly before: number | undefined;
}

export interface LockPlay {
  /** Key → [mode, retain-until ms]. */
  readonly dates: Map<string, [string, number]>;
  readonly extensions: Extension[];
}

const keyOf = (r: Recorded) => decodeURIComponent(new URL(r.url, 'https://x').pathname).split('/').slice(2).join('/');
const tag = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

/** Plays Object Lock at `proxy` from now on (it takes over `proxy.fault`). */
export function playObjectLock(proxy: S3Proxy): LockPlay {
  const play: LockPlay = { dates: new Map(), extensions: [] };
  proxy.fault = (r): Fault | undefined => {
    const key = keyOf(r);
    const query = new URL(r.url, 'https://x').searchParams;
    if (r.method === 'PUT' && query.has('retention')) {
      const xml = r.body.toString('utf8');
      const mode = tag(xml, 'Mode') ?? '';
      const until = Date.parse(tag(xml, 'RetainUntilDate') ?? '');
      play.extensions.push({ key, mode, until, before: play.dates.get(key)?.[1] });
      play.dates.set(key, [mode, until]);
      return { reply: { status: 200 } };
    }
    const until = r.headers['x-amz-object-lock-retain-until-date'];
    if (r.method === 'PUT' && typeof until === 'string') play.dates.set(key, [String(r.headers['x-amz-object-lock-mode']), Date.parse(until)]);
    const known = play.dates.get(key);
    if (r.method === 'HEAD' && known)
      return { addHeaders: { 'x-amz-object-lock-mode': known[0], 'x-amz-object-lock-retain-until-date': new Date(known[1]).toISOString() } };
    return undefined;
  };
  return play;
}
