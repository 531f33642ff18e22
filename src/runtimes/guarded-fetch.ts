// The media archive's FileFetch on Node and Deno self-hosted: undici's fetch through an Agent whose DNS lookup refuses
// every address the policy does not allow, so the connection goes only to an address that was
// checked (a name that resolves to something else a moment later gets nothing). Literal
// addresses are checked by the policy before (download.ts); redirects are never followed here.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent, fetch as undiciFetch } from 'undici';
import type { FileFetch } from '../media/download.ts';
import { REFUSED } from '../media/download.ts';
import type { AddressPolicy } from '../media/guard.ts';

const agents = new WeakMap<AddressPolicy, Agent>();

function agentFor(policy: AddressPolicy): Agent {
  let agent = agents.get(policy);
  if (agent) return agent;
  const lookup = (
    hostname: string,
    options: { all?: boolean; family?: number },
    callback: (err: Error | null, address?: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (err, addresses) => {
      if (err) return callback(err);
      const allowed = addresses.filter((a) => policy.refuse(a.address) === null);
      if (allowed.length === 0) {
        const reason = policy.refuse(addresses[0]?.address ?? hostname) ?? `${hostname} has no address`;
        return callback(Object.assign(new Error(`${hostname} -> ${reason}`), { name: REFUSED }));
      }
      if (options.all) callback(null, allowed);
      else callback(null, allowed[0]!.address, allowed[0]!.family);
    });
  };
  agent = new Agent({ connect: { lookup } as never });
  agents.set(policy, agent);
  return agent;
}

export const guardedFetch: FileFetch = (url, { signal, policy }) =>
  undiciFetch(url, { signal, redirect: 'manual', dispatcher: agentFor(policy) }) as unknown as Promise<Response>;
