/**
 * The TCG PC Client crypto-agile event log (TCG PC Client Platform Firmware
 * Profile §10): a SHA-1-format header event carrying the "Spec ID Event03"
 * (the digest sizes), then TCG_PCR_EVENT2 records, little-endian. replay()
 * recomputes one bank: each PCR starts at its reset value and is extended
 * with every event's digest for that bank (EV_NO_ACTION events are not
 * extended; the StartupLocality one sets PCR0's starting locality).
 */
import { createHash } from 'node:crypto';
import { ensure } from '../errors.js';
import { HASH_ALGS, Reader } from './reader.js';

const EV_NO_ACTION = 0x00000003;
const SPEC_ID = Buffer.from('Spec ID Event03\0', 'latin1');
const STARTUP_LOCALITY = Buffer.from('StartupLocality\0', 'latin1');

export interface LogEvent {
  pcr: number;
  type: number;
  digests: Map<number, Uint8Array>;
  data: Uint8Array;
}

export function parseEventLog(bytes: Uint8Array): LogEvent[] {
  const r = new Reader(bytes, 'event-log', 'the event log');
  const sizes = specIdSizes(r);
  const events: LogEvent[] = [];
  while (!r.done) {
    const pcr = r.u32le();
    const type = r.u32le();
    const count = r.u32le();
    ensure(count <= sizes.size, 'event-log', `an event has ${count} digests, the log declares ${sizes.size} banks`);
    const digests = new Map<number, Uint8Array>();
    for (let i = 0; i < count; i++) {
      const alg = r.u16le();
      const size = sizes.get(alg);
      ensure(size !== undefined, 'event-log', `an event has a digest for the undeclared algorithm 0x${alg.toString(16)}`);
      digests.set(alg, r.bytesOf(size));
    }
    events.push({ pcr, type, digests, data: r.bytesOf(r.u32le()) });
  }
  return events;
}

/** The header event (TCG_PCR_EVENT, SHA-1 format) must be EV_NO_ACTION with a Spec ID Event03. */
function specIdSizes(r: Reader): Map<number, number> {
  ensure(r.u32le() === 0 && r.u32le() === EV_NO_ACTION, 'event-log', 'the log does not start with the Spec ID event');
  r.bytesOf(20);
  const spec = new Reader(r.bytesOf(r.u32le()), 'event-log', 'the Spec ID event');
  ensure(Buffer.compare(spec.bytesOf(16), SPEC_ID) === 0, 'event-log', 'the log is not crypto-agile (no "Spec ID Event03")');
  spec.bytesOf(8); // platformClass, specVersionMinor/Major, specErrata, uintnSize
  const sizes = new Map<number, number>();
  for (let n = spec.u32le(); n > 0; n--) {
    const alg = spec.u16le();
    sizes.set(alg, spec.u16le());
  }
  spec.bytesOf(spec.u8()); // vendorInfo
  spec.end();
  return sizes;
}

/** Replays the bank `hashAlg`: the values of the PCRs the log extends, each from its reset value. */
export function replay(events: LogEvent[], hashAlg: number): Map<number, Uint8Array> {
  const { name, size } = HASH_ALGS.get(hashAlg)!;
  const pcrs = new Map<number, Uint8Array>();
  const reset = (pcr: number) => resetValue(pcr, size);
  for (const e of events) {
    if (e.type === EV_NO_ACTION) {
      if (e.pcr === 0 && startupLocality(e.data) !== null) pcrs.set(0, Uint8Array.from(reset(0).fill(startupLocality(e.data)!, size - 1)));
      continue;
    }
    const digest = e.digests.get(hashAlg);
    ensure(digest !== undefined, 'event-log', `an event for PCR${e.pcr} has no ${name} digest`);
    const before = pcrs.get(e.pcr) ?? reset(e.pcr);
    pcrs.set(e.pcr, createHash(name).update(before).update(digest).digest());
  }
  return pcrs;
}

/** PC Client profile §3.3.3: PCRs 17-22 (DRTM) reset to all ones, the others to zero. */
export const resetValue = (pcr: number, size: number) => new Uint8Array(size).fill(pcr >= 17 && pcr <= 22 ? 0xff : 0);

function startupLocality(data: Uint8Array): number | null {
  if (data.length !== STARTUP_LOCALITY.length + 1) return null;
  return Buffer.compare(data.subarray(0, STARTUP_LOCALITY.length), STARTUP_LOCALITY) === 0 ? data[STARTUP_LOCALITY.length]! : null;
}
