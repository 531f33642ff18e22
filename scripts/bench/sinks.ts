// Bench helper, run as a child process: N plain HTTP targets that answer 200 at once and note,
// for each webhook-id, when it first arrived. Driven over IPC by scripts/bench/main.ts.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

const count = Number(process.argv[2] ?? 1);
const ports = (process.argv[3] ?? '').split(',').filter(Boolean).map(Number);
let received = 0;
const firstSeen = new Map<string, number>();
const servers: Server[] = [];

for (let i = 0; i < count; i++) {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      const id = `${i}:${req.headers['webhook-id']}`;
      if (!firstSeen.has(id)) firstSeen.set(id, performance.timeOrigin + performance.now());
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(ports[i] ?? 0, '127.0.0.1', resolve));
  servers.push(server);
}

process.on('message', (message: { type: string }) => {
  if (message.type === 'stats') process.send!({ type: 'stats', received, firstSeen: [...firstSeen] });
  if (message.type === 'reset') {
    received = 0;
    firstSeen.clear();
    process.send!({ type: 'reset' });
  }
});
process.send!({
  type: 'ready',
  urls: servers.map((s) => `http://127.0.0.1:${(s.address() as AddressInfo).port}/hook`),
});
