/**
 * PROXY protocol v2 on the vault's listener (haproxy's proxy-protocol.txt,
 * §2.2, the binary header): behind the Nitro parent's proxy, or any TCP load
 * balancer, every connection's TCP peer is the proxy, so every client would
 * share one address bucket. A proxy listed in `--proxy-protocol-from` sends
 * the header before the TLS handshake, and the source it names becomes the
 * client address for rate limits (limits.ts).
 *
 * Accepted only from the configured proxies: a connection from one of them
 * without a valid header is closed before TLS, and a connection from any
 * other address is handed to TLS as it is (a header there is no ClientHello,
 * so the handshake refuses it). LOCAL (the proxy's own health checks) and
 * address families other than TCP over IPv4/IPv6 keep the proxy's address
 * (§2.2: "the receiver must use the real connection endpoints").
 */
import { BlockList, createServer, isIP, type Server, type Socket } from 'node:net';
import { EbakError } from '../../errors.js';

/** §2.2: the 12-byte signature, then version/command, family/transport, length (big endian). */
export const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const HEADER_BYTES = 16;
/** Addresses (36 for TCP over IPv6, 216 for UNIX) plus TLVs; longer is refused. */
const MAX_BODY = 1024;
const HEADER_TIMEOUT_MS = 5_000;

export interface ProxyHeader {
  command: 'local' | 'proxy';
  /** The client's address (PROXY over TCP4/TCP6), else undefined: use the TCP peer. */
  source?: { address: string; port: number };
}

/** Parses one whole v2 header (16 bytes + its length); malformed → CORRUPT. */
export function parseProxyV2(header: Buffer): ProxyHeader {
  const bad = (what: string) => new EbakError('CORRUPT', `PROXY protocol v2 header: ${what}`);
  if (header.length < HEADER_BYTES || !header.subarray(0, 12).equals(SIGNATURE)) throw bad('no v2 signature');
  const verCmd = header[12]!;
  if (verCmd >> 4 !== 2) throw bad(`version ${verCmd >> 4}, not 2`);
  const length = header.readUInt16BE(14);
  if (header.length !== HEADER_BYTES + length) throw bad(`length ${length} does not match the ${header.length - HEADER_BYTES} bytes given`);
  const command = verCmd & 0x0f;
  if (command === 0x0) return { command: 'local' };
  if (command !== 0x1) throw bad(`unknown command ${command}`);
  const famProto = header[13]!;
  if ((famProto & 0x0f) === 0x2) throw bad('a datagram (UDP) connection on a TCP listener');
  const body = header.subarray(HEADER_BYTES);
  if (famProto === 0x11) return { command: 'proxy', source: inet(body, 4, bad) };
  if (famProto === 0x21) return { command: 'proxy', source: inet(body, 16, bad) };
  return { command: 'proxy' }; // AF_UNSPEC or AF_UNIX: no client address to take
}

/** src addr, dst addr, src port, dst port (§2.2, the address block); TLVs after it are ignored. */
function inet(body: Buffer, size: 4 | 16, bad: (what: string) => Error): { address: string; port: number } {
  if (body.length < 2 * size + 4) throw bad(`an address block of ${body.length} bytes for ${size === 4 ? 'TCP over IPv4' : 'TCP over IPv6'}`);
  const src = body.subarray(0, size);
  const address = size === 4 ? [...src].join('.') : (src.toString('hex').match(/.{4}/g) ?? []).join(':');
  return { address: normalise(address), port: body.readUInt16BE(2 * size) };
}

/** One spelling per address (IPv6 compressed, IPv4-mapped IPv6 as IPv4), as the rate buckets' key. */
function normalise(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIP(address) !== 6) return address;
  return new URL(`http://[${address}]/`).hostname.slice(1, -1).replace(/^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/, (_m, hi: string, lo: string) => {
    const n = (parseInt(hi, 16) << 16) | parseInt(lo, 16);
    return [n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255].join('.');
  });
}

/** `CIDR[,CIDR]` (a bare address is /32 or /128) → the proxies' block list; malformed → USAGE. */
export function proxyList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const c of cidrs) {
    const [net, bits, extra] = c.trim().split('/');
    const family = isIP(net ?? '');
    const prefix = bits === undefined ? (family === 4 ? 32 : 128) : Number(bits);
    if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
      throw new EbakError('USAGE', `--proxy-protocol-from: ${c} is not an address or CIDR (a.b.c.d/n, x::y/n)`);
    }
    list.addSubnet(net!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}

function fromProxy(list: BlockList, socket: Socket): boolean {
  const peer = normalise(socket.remoteAddress ?? '');
  const family = isIP(peer);
  return family !== 0 && list.check(peer, family === 4 ? 'ipv4' : 'ipv6');
}

/** Reads exactly one header off `socket` (leaving what follows buffered for TLS), or rejects. */
function readHeader(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let head: Buffer | null = null;
    const done = (e?: Error, header?: Buffer) => {
      clearTimeout(timer);
      socket.off('readable', onReadable).off('end', onEnd).off('error', onEnd);
      if (e) reject(e);
      else resolve(header!);
    };
    const onEnd = () => done(new EbakError('CORRUPT', 'PROXY protocol v2 header: the connection ended first'));
    const onReadable = () => {
      if (!head) {
        head = socket.read(HEADER_BYTES) as Buffer | null;
        if (!head) return;
        if (!head.subarray(0, 12).equals(SIGNATURE)) return done(new EbakError('CORRUPT', 'PROXY protocol v2 header: no v2 signature'));
        if (head.readUInt16BE(14) > MAX_BODY) return done(new EbakError('CORRUPT', `PROXY protocol v2 header: longer than ${MAX_BODY} bytes`));
      }
      const length = head.readUInt16BE(14);
      const body = length === 0 ? Buffer.alloc(0) : (socket.read(length) as Buffer | null);
      if (body) done(undefined, Buffer.concat([head, body]));
    };
    const timer = setTimeout(() => done(new EbakError('CORRUPT', 'PROXY protocol v2 header: none within 5 s')), HEADER_TIMEOUT_MS);
    socket.on('readable', onReadable).on('end', onEnd).on('error', onEnd);
    onReadable();
  });
}

export interface ProxyListener {
  /** Accepts TCP connections and hands them to `tls` (an https server that does not listen itself). */
  server: Server;
  /** The client address of a connection (the TLS socket's peer): the header's source, or undefined. */
  clientAddress(socket: Socket): string | undefined;
}

/** A TCP listener in front of `tls` that takes PROXY v2 headers from the proxies in `list`. */
export function proxyListener(tls: Server, list: BlockList, log: (line: string) => void): ProxyListener {
  const sources = new Map<string, string>();
  const peerKey = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const server = createServer((socket) => {
    if (!fromProxy(list, socket)) {
      tls.emit('connection', socket);
      return;
    }
    socket.on('error', () => socket.destroy());
    readHeader(socket).then((header) => {
      const h = parseProxyV2(header);
      if (h.source) {
        const key = peerKey(socket);
        sources.set(key, h.source.address);
        socket.once('close', () => sources.delete(key));
      }
      tls.emit('connection', socket);
    }).catch((e: unknown) => {
      log(`vault: refused a connection from the proxy ${socket.remoteAddress}: ${(e as Error).message}`);
      socket.destroy();
    });
  });
  return { server, clientAddress: (s) => sources.get(peerKey(s)) };
}
