// IP parsing, networks, and the caller behind trusted proxies (src/net/address.ts).
import { describe, expect, it } from 'vitest';
import { callerAddress, networks, parseIp, parseNetwork } from '../../src/net/address.ts';

const ip = (text: string) => parseIp(text)!;
const contains = (net: string, address: string) => parseNetwork(net)!.contains(ip(address));

describe('addresses', () => {
  it('parses IPv4 and IPv6 text forms, folding IPv4-mapped IPv6 into IPv4', () => {
    expect([...ip('203.0.113.7').bytes]).toEqual([203, 0, 113, 7]);
    expect(ip('::1')).toEqual({ version: 6, bytes: new Uint8Array([...Array(15).fill(0), 1]) });
    expect(ip('::ffff:127.0.0.1')).toEqual({ version: 4, bytes: new Uint8Array([127, 0, 0, 1]) });
    expect(ip('::FFFF:10.1.2.3')).toEqual({ version: 4, bytes: new Uint8Array([10, 1, 2, 3]) });
    expect(ip('::ffff:7f00:1')).toEqual({ version: 4, bytes: new Uint8Array([127, 0, 0, 1]) });
    expect(ip('[2001:db8::1]').version).toBe(6);
    expect(ip('fe80::1%eth0').version).toBe(6);
    expect([...ip('1:2:3:4:5:6:7:8').bytes.slice(14)]).toEqual([0, 8]);
    for (const bad of [
      '',
      '256.1.1.1',
      '1.2.3',
      '::ffff:1.2.3',
      '::ffff:256.1.1.1',
      '01.2.3.4',
      '1::2::3',
      'x',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'localhost',
    ])
      expect(parseIp(bad), bad).toBeNull();
  });

  it('tells whether a network holds an address', () => {
    expect(contains('203.0.113.0/24', '203.0.113.255')).toBe(true);
    expect(contains('203.0.113.0/24', '203.0.114.1')).toBe(false);
    expect(contains('10.0.0.0/8', '::ffff:10.1.2.3')).toBe(true);
    expect(contains('0.0.0.0/0', '8.8.8.8')).toBe(true);
    expect(contains('51.250.84.44', '51.250.84.44')).toBe(true);
    expect(contains('51.250.84.44', '51.250.84.45')).toBe(false);
    expect(contains('2001:db8::/32', '2001:db8:ffff::1')).toBe(true);
    expect(contains('2001:db8::/32', '2001:db9::1')).toBe(false);
    expect(contains('::/0', '127.0.0.1')).toBe(false);
    expect(contains('192.168.1.0/20', '192.168.15.1')).toBe(true);
    for (const bad of ['1.2.3.4/33', '1.2.3.4/', '::/129', '1.2.3.4/8/1', 'nope/8'])
      expect(parseNetwork(bad), bad).toBeNull();
    expect(() => networks(['10.0.0.0/8', 'nope'])).toThrow('nope');
  });

  it('takes the caller from X-Forwarded-For only behind a trusted proxy, the rightmost untrusted hop', () => {
    const trusted = networks(['127.0.0.1', '10.0.0.0/8']);
    const headers = (h: Record<string, string>) => new Headers(h);
    // No trusted proxy: the socket's address, whatever the headers say.
    expect(callerAddress('127.0.0.1', headers({ 'x-forwarded-for': '203.0.113.9' }), [])).toBe('127.0.0.1');
    // The peer is not trusted: its headers are its own words.
    expect(callerAddress('198.51.100.1', headers({ 'x-forwarded-for': '203.0.113.9' }), trusted)).toBe('198.51.100.1');
    // A trusted proxy: the hop it names.
    expect(callerAddress('127.0.0.1', headers({ 'x-forwarded-for': '203.0.113.9' }), trusted)).toBe('203.0.113.9');
    // A forged hop left of the real one is never believed.
    expect(
      callerAddress('127.0.0.1', headers({ 'x-forwarded-for': '46.101.109.139, 203.0.113.9, 10.1.1.1' }), trusted),
    ).toBe('203.0.113.9');
    // Every hop trusted: the leftmost.
    expect(callerAddress('127.0.0.1', headers({ 'x-forwarded-for': '10.0.0.2' }), trusted)).toBe('10.0.0.2');
    // RFC 7239 Forwarded, when there is no X-Forwarded-For.
    expect(
      callerAddress(
        '127.0.0.1',
        headers({ forwarded: 'for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"' }),
        trusted,
      ),
    ).toBe('2001:db8::1');
    expect(callerAddress('127.0.0.1', headers({ forwarded: 'for=192.0.2.60:8080' }), trusted)).toBe('192.0.2.60');
    // An unreadable hop stops the walk at the last good one.
    expect(callerAddress('127.0.0.1', headers({ 'x-forwarded-for': 'garbage' }), trusted)).toBe('127.0.0.1');
    expect(callerAddress(undefined, headers({}), trusted)).toBeUndefined();
  });
});
