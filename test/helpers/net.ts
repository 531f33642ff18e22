// A free TCP port on loopback, for servers that must come back on the same port after a restart.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Below the kernel's range for the local ends of outgoing connections: a port from that range,
 * free now, can be taken by any connection made before the server listens on it again (seen in
 * the bench, whose targets stay down for a while: EADDRINUSE when they came up). Linux's default
 * range starts at 32768; elsewhere the kernel's own choice is kept.
 */
function portsBelowEphemeral(): [number, number] | null {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return low > 12_000 ? [10_000, low - 1] : null;
  } catch {
    return null;
  }
}

const range = portsBelowEphemeral();

function tryListen(port: number): Promise<number | null> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

export async function freePort(): Promise<number> {
  if (range)
    for (let tries = 0; tries < 50; tries++) {
      const port = await tryListen(range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1)));
      if (port !== null) return port;
    }
  const port = await tryListen(0);
  if (port === null) throw new Error('no free port on 127.0.0.1');
  return port;
}
