// Bench helper: the baseline, a bare Hono server on @hono/node-server that reads the JSON body
// and answers 200, and nothing else.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/webhook', async (c) => {
  await c.req.json();
  return c.json({ status: 'accepted' });
});
serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, (info) =>
  console.log(JSON.stringify({ event: 'relay.started', port: info.port })),
);
// Exits on SIGTERM, so that a profiler running it (npm run profile -- --system=bare) writes its file.
process.on('SIGTERM', () => process.exit(0));
