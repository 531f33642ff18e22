// IP addresses and networks: parsing IPv4 and IPv6 (RFC 4291 text forms, IPv4-mapped addresses
// folded to IPv4), CIDR membership, and which caller a request comes from behind trusted proxies.
// Used by the sender allow-list (contract §1) and by the media fetcher's address guard (§8).

export interface Ip {
  version: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

export interface Network {
  /** As written in the configuration. */
  readonly text: string;
  contains(ip: Ip): boolean;
}

/** An address in text form, or null. Zone ids (`fe80::1%eth0`) and brackets are dropped; `::ffff:a.b.c.d` is IPv4. */
export function parseIp(text: string): Ip | null {
  const value = text
    .trim()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/%.*$/, '');
  const v4 = parseIpv4(value);
  if (v4) return { version: 4, bytes: v4 };
  const v6 = parseIpv6(value);
  if (!v6) return null;
  // IPv4-mapped (::ffff:0:0/96): the same host as its IPv4 address, for every rule here.
  if (v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff)
    return { version: 4, bytes: v6.slice(12) };
  return { version: 6, bytes: v6 };
}

function parseIpv4(text: string): Uint8Array | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    // Decimal only, no leading zeros: "010" is octal to some parsers, so it is refused here.
    if (!/^(0|[1-9]\d{0,2})$/.test(parts[i]!)) return null;
    const n = Number(parts[i]);
    if (n > 255) return null;
    bytes[i] = n;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || text.split('::').length > 2) return null;
  let groups: string[];
  let tail: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.')) {
    tail = parseIpv4(text.slice(lastColon + 1));
    if (!tail) return null;
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined ? [] : rest === '' ? [] : rest.split(':');
  if (rest === undefined) {
    if (left.length !== 8) return null;
    groups = left;
  } else {
    if (left.length + right.length > 7) return null;
    groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  }
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i]!)) return null;
    const n = parseInt(groups[i]!, 16);
    bytes[2 * i] = n >> 8;
    bytes[2 * i + 1] = n & 0xff;
  }
  if (tail) bytes.set(tail, 12);
  return bytes;
}

/** A network as `address` or `address/prefix`, or null. */
export function parseNetwork(text: string): Network | null {
  const [address, prefixText, extra] = text.trim().split('/');
  if (extra !== undefined || address === undefined) return null;
  const base = parseIp(address);
  if (!base) return null;
  const bits = base.bytes.length * 8;
  // A prefix written for an IPv4-mapped IPv6 address counts its IPv4 part only.
  const mappedShift = base.version === 4 && address.includes(':') ? 96 : 0;
  const prefix =
    prefixText === undefined ? bits : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) - mappedShift : Number.NaN;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return null;
  return {
    text,
    contains(ip) {
      if (ip.version !== base.version) return false;
      for (let bit = 0; bit < prefix; bit += 8) {
        const take = Math.min(8, prefix - bit);
        const mask = (0xff << (8 - take)) & 0xff;
        if ((ip.bytes[bit / 8]! & mask) !== (base.bytes[bit / 8]! & mask)) return false;
      }
      return true;
    },
  };
}

/** Networks from their text forms; throws on the first that is not one (config validation names the path first). */
export function networks(texts: readonly string[]): Network[] {
  return texts.map((text) => {
    const network = parseNetwork(text);
    if (!network) throw new Error(`not an IP address or CIDR network: ${text}`);
    return network;
  });
}

export const inAny = (ip: Ip, list: readonly Network[]) => list.some((network) => network.contains(ip));

/**
 * The address a request comes from. It is the peer's (the socket's) unless the peer is a trusted
 * proxy: then the hops in `X-Forwarded-For` (or, without it, `Forwarded`) are read from the right,
 * and the first one that is not a trusted proxy is the caller. Hops left of it were written by
 * whoever called first and cannot be believed. Unreadable hops end the walk there.
 */
export function callerAddress(
  peer: string | undefined,
  headers: Headers,
  trusted: readonly Network[],
): string | undefined {
  // Without trusted proxies the peer is the caller, unparsed: this runs on every notification,
  // and the IPv4-mapped form a dual-stack socket reports (`::ffff:a.b.c.d`) takes ~4 µs to parse.
  if (peer === undefined || trusted.length === 0) return peer;
  const peerIp = parseIp(peer);
  if (!peerIp || !inAny(peerIp, trusted)) return peer;
  const hops = forwardedHops(headers);
  let caller = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseIp(hops[i]!);
    if (!hop) return caller;
    caller = hops[i]!;
    if (!inAny(hop, trusted)) return caller;
  }
  return caller;
}

function forwardedHops(headers: Headers): string[] {
  const xff = headers.get('x-forwarded-for');
  if (xff)
    return xff
      .split(',')
      .map((hop) => hop.trim())
      .filter(Boolean);
  const forwarded = headers.get('forwarded');
  if (!forwarded) return [];
  // RFC 7239: `for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`.
  return forwarded.split(',').flatMap((element) => {
    const match = /(?:^|;)\s*for=("?)([^";,]+)\1/i.exec(element);
    if (!match) return [];
    const value = match[2]!;
    const v6 = /^\[([^\]]+)\]/.exec(value);
    return [v6 ? v6[1]! : value.replace(/:\d+$/, '')];
  });
}
