// The shared behaviour cases against the relay on workerd (`wrangler dev`), plus what only the
// Workers runtime has: Durable Object alarms surviving a restart, and the bundle's size.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type Proxy } from '../helpers/proxy.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import { startWorkersRelay, type WorkersRelay } from '../helpers/wrangler.ts';
import { BEHAVIOUR, behaviourConfig, behaviourResponder, TOKEN } from './cases.ts';
import { restartCase } from './restart.ts';

/** The agreed budget for the gzipped Worker (the target is 150 KiB). */
const BUNDLE_BUDGET_BYTES = 150 * 1024;

let sink: Sink;
let relay: WorkersRelay;
let proxy: Proxy;
beforeAll(async () => {
  sink = await startSink(behaviourResponder());
  relay = await startWorkersRelay(behaviourConfig(sink.url.replace('/hook', '')), tempDir());
  proxy = await startProxy(relay.url);
}, 90_000);
afterAll(async () => {
  proxy?.stop();
  await relay?.kill();
  await sink?.close();
});

describe('behaviour on workers', () => {
  for (const c of BEHAVIOUR)
    it(`${c.name} (workers)`, () => c.run({ url: relay.url, proxy: proxy.url, requests: sink.requests }), 90_000);
});

describe('workers only', () => {
  it('delivers every accepted event to every target after a SIGKILL of workerd and a restart', async () => {
    // The objects' alarms and leases are in the persisted state; the restarted objects resume them.
    const second = await restartCase(async (config, state) => {
      const relay = await startWorkersRelay(config, state);
      return { url: relay.url, output: relay.output, kill: () => relay.kill() };
    }, tempDir());
    await second.kill();
  }, 180_000);

  it(`builds with wrangler deploy --dry-run into less than ${BUNDLE_BUDGET_BYTES / 1024} KiB gzipped`, () => {
    const out = tempDir();
    execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], { stdio: 'pipe' });
    const gzipped = gzipSync(readFileSync(join(out, 'index.js'))).byteLength;
    console.log(`workers bundle: ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
    expect(gzipped).toBeLessThan(BUNDLE_BUDGET_BYTES);
  }, 120_000);
});

describe('workers configuration and metrics', () => {
  it('answers a bad RELAY_CONFIG with the same messages as Node', async () => {
    const bad = await startWorkersRelay(
      { instances: { '*': { token: '${MISSING_TOKEN}' } } } as never,
      tempDir(),
      {},
      { expectHealthy: false },
    );
    try {
      const response = await fetch(`${bad.url}/healthz`);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: { message: string } }).error.message).toContain(
        'instances.*.token: environment variable MISSING_TOKEN is not set',
      );
    } finally {
      await bad.kill();
    }
  }, 90_000);

  it('keeps the admin surface closed until an admin token is set, saying how, and opens it with the RELAY_ADMIN_TOKEN secret', async () => {
    const config = { instances: { '*': { token: TOKEN } } };
    const closed = await startWorkersRelay(config, tempDir());
    try {
      const refused = await fetch(`${closed.url}/api/events`, { headers: { authorization: 'Bearer guess' } });
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
        'wrangler secret put RELAY_ADMIN_TOKEN',
      );
      expect((await fetch(`${closed.url}/metrics`)).status).toBe(401);
    } finally {
      await closed.kill();
    }
    const opened = await startWorkersRelay(config, tempDir(), { RELAY_ADMIN_TOKEN: 'from-the-secret' });
    try {
      expect(
        (await fetch(`${opened.url}/api/events`, { headers: { authorization: 'Bearer from-the-secret' } })).status,
      ).toBe(200);
      expect((await fetch(`${opened.url}/api/events`)).status).toBe(401);
    } finally {
      await opened.kill();
    }
  }, 120_000);

  it('shows the backlog and dead gauges on /metrics, read from the objects', async () => {
    const response = await fetch(`${relay.url}/metrics`, { headers: { authorization: 'Bearer behaviour-admin' } });
    const text = await response.text();
    expect(text).toMatch(/^green_relay_deliveries_dead\{target="broken"\} [1-9]\d*$/m);
    expect(text).toMatch(/^green_relay_deliveries_pending\{target="ce"\} \d+$/m);
    expect((await fetch(`${relay.url}/metrics`)).status).toBe(401);
  });
});
