// A plain HTTP reverse proxy, run as its own process (`node --import tsx test/helpers/proxy-server.ts
// <upstream>[,<upstream>…] [--balancer]`): what a tunnel client or nginx in front of the relay does.
// It forwards every request, streams answers (server-sent events included), and appends the
// caller to X-Forwarded-For as nginx's $proxy_add_x_forwarded_for does. To the relay, every
// request it forwards comes from 127.0.0.1. With several upstreams it takes them in turn, request
// by request (round robin); `--balancer` leaves the headers alone, as a load balancer in front of
// several relays does.
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

const upstreams = process.argv[2]!.split(',').map((url) => new URL(url));
const balancer = process.argv.includes('--balancer');
let turn = 0;
const server = createServer((req, res) => {
  const upstream = upstreams[turn++ % upstreams.length]!;
  const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
  const out = request(
    {
      hostname: upstream.hostname,
      port: upstream.port,
      path: req.url,
      method: req.method,
      headers: balancer
        ? req.headers
        : { ...req.headers, 'x-forwarded-for': forwardedFor, 'x-forwarded-proto': 'http' },
    },
    (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => (res.headersSent ? res.destroy() : res.writeHead(502).end()));
  res.on('close', () => out.destroy());
  req.pipe(out);
});
server.listen(0, '127.0.0.1', () =>
  process.stdout.write(`${JSON.stringify({ event: 'proxy.started', port: (server.address() as AddressInfo).port })}\n`),
);
process.on('SIGTERM', () => process.exit(0));
