// Bench helper: the honest floor for what the relay does (issue 17): a Hono server that answers
// 200 and fires the body at each target with undici, storing nothing, retrying nothing. It does
// the HTTP work (one request in, N out) and nothing else. Targets: FORWARD_TO, comma-separated.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { Pool } from 'undici';

const targets = (process.env.FORWARD_TO ?? '')
  .split(',')
  .filter(Boolean)
  .map((url) => {
    const { origin, pathname } = new URL(url);
    return { pool: new Pool(origin, { connections: 20 }), path: pathname };
  });

const app = new Hono();
app.post('/webhook', async (c) => {
  const body = new Uint8Array(await c.req.arrayBuffer());
  for (const { pool, path } of targets)
    pool
      .request({ path, method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then((response) => response.body.dump())
      .catch(() => {});
  return c.json({ status: 'accepted' });
});
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, (info) =>
  console.log(JSON.stringify({ event: 'relay.started', port: info.port })),
);
// Exits on SIGTERM, so that a profiler running it (npm run profile -- --system=forwarder) writes its file.
process.on('SIGTERM', () => process.exit(0));
