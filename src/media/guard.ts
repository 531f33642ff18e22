// Where the media archive may fetch from (contract §8): only public addresses, checked on the
// address a name resolves to (the runtime's fetch port connects to that checked address, so a
// name that resolves again to something else cannot slip through) and again on every redirect
// hop; optionally only listed hosts; private networks only when the operator opts in. As Svix
// guards its deliveries: by address, because Green API's file hosts change by region and time.
import type { MediaConfig } from '../config.ts';
import { inAny, networks, parseIp, type Ip, type Network } from '../net/address.ts';

/** Not public: loopback, private, link-local (cloud metadata at 169.254.169.254), shared, reserved, multicast, documentation. */
const NOT_PUBLIC = networks([
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.2.0/24',
  '192.88.99.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4',
  '240.0.0.0/4',
  '::/128',
  '::1/128',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '100::/64',
  '2001::/23',
  '2001:db8::/32',
  '2002::/16',
  'fc00::/7',
  'fe80::/10',
  'fec0::/10',
  'ff00::/8',
]);

export interface AddressPolicy {
  /** Why `address` may not be fetched from, or null when it may. */
  refuse(address: string): string | null;
  /** Why `url` may not be fetched (scheme, host list, a literal address), or null. */
  refuseUrl(url: URL): string | null;
}

export function addressPolicy(config: Pick<MediaConfig, 'privateNetworks' | 'hosts'>): AddressPolicy {
  const allowed: Network[] | 'all' | 'none' =
    config.privateNetworks === true
      ? 'all'
      : config.privateNetworks === false
        ? 'none'
        : networks(config.privateNetworks);
  const hosts = config.hosts?.map((h) => h.toLowerCase()) ?? null;
  const refuseIp = (ip: Ip, text: string): string | null => {
    if (!inAny(ip, NOT_PUBLIC) || allowed === 'all') return null;
    if (allowed !== 'none' && inAny(ip, allowed)) return null;
    return `${text} is not a public address (media.privateNetworks allows others)`;
  };
  return {
    refuse(address) {
      const ip = parseIp(address);
      return ip ? refuseIp(ip, address) : `${address} is not an address`;
    },
    refuseUrl(url) {
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return `${url.protocol} links are not fetched`;
      if (url.username || url.password) return 'links with credentials are not fetched';
      const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
      if (hosts && !hosts.some((h) => host === h || host.endsWith(`.${h}`))) return `${host} is not one of media.hosts`;
      const ip = parseIp(host);
      return ip ? refuseIp(ip, host) : null;
    },
  };
}
