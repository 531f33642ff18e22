// The shared behaviour cases against the relay on workerd (`wrangler dev`), plus what only the
// Workers runtime has: Durable Object alarms surviving a restart, and the bundle's size.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startJournalStandIn } from '../helpers/green-api-journals.ts';
import { startProxy, type Proxy } from '../helpers/proxy.ts';
import { tempDir } from '../helpers/tmp.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import { startWorkersRelay, type WorkersRelay } from '../helpers/wrangler.ts';
import { fixture } from '../helpers/fixtures.ts';
import { postNotification } from '../helpers/webhook.ts';
import { BEHAVIOUR, behaviourConfig, behaviourResponder, TOKEN } from './cases.ts';
import { ADMIN } from './setup.ts';
import { pauseRestartCase, restartCase, type Start } from './restart.ts';

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
  // What workerd logged, for reading a failure afterwards.
  mkdirSync('test-artifacts', { recursive: true });
  if (relay) writeFileSync('test-artifacts/workers-behaviour.log', relay.output());
  await relay?.kill();
  await sink?.close();
});

describe('behaviour on workers', () => {
  for (const c of BEHAVIOUR)
    it(`${c.name} (workers)`, () => c.run({ url: relay.url, proxy: proxy.url, requests: sink.requests }), 90_000);
});

const startWorkers: Start = async (config, state) => {
  const relay = await startWorkersRelay(config, state);
  return { url: relay.url, output: relay.output, kill: () => relay.kill() };
};

describe('workers only', () => {
  it('delivers every accepted event to every target after a SIGKILL of workerd and a restart', async () => {
    // The objects' alarms and leases are in the persisted state; the restarted objects resume them.
    const second = await restartCase(startWorkers, tempDir());
    await second.kill();
  }, 180_000);

  it('keeps a paused target paused across a SIGKILL of workerd, and delivers the held backlog on resume', async () => {
    const second = await pauseRestartCase(startWorkers, tempDir());
    await second.kill();
  }, 180_000);

  it('lists, opens and replays an event whose index feed a SIGKILL of workerd cut off, once', async () => {
    const target = await startSink(() => ({ status: 200 }));
    const config = {
      instances: { '*': { token: TOKEN } },
      // Takes no messages: the event has no delivery until the replay gives it one.
      targets: [{ name: 'crm', url: target.url, types: ['com.green-api.state.*'] }],
      admin: { token: ADMIN },
    };
    const state = tempDir();
    const api = async (url: string, path: string, method = 'GET') => {
      const response = await fetch(`${url}/api${path}`, { method, headers: { authorization: `Bearer ${ADMIN}` } });
      return { status: response.status, json: (await response.json()) as any };
    };
    // The instance object holds its changes back from the index for 4 s: the kill falls in between.
    const first = await startWorkersRelay(config, state, { RELAY_INDEX_FEED_DELAY: '4s' });
    let id: string;
    try {
      const posted = await postNotification(
        first.url,
        {
          ...(fixture('incomingMessageReceived.textMessage.json').json as object),
          idMessage: 'CUTOFF1',
          instanceData: { idInstance: 1101000970, wid: '1@c.us', typeInstance: 'whatsapp' },
        },
        TOKEN,
      );
      expect(posted.status).toBe(200);
      id = ((await posted.json()) as { id: string }).id;
      // Stored in its object (listed by instance), not yet in the index (listed across instances).
      expect((await api(first.url, '/events?instance=1101000970')).json.items.map((e: any) => e.id)).toEqual([id]);
      expect((await api(first.url, '/events')).json.items).toEqual([]);
    } finally {
      await first.kill();
    }
    const second = await startWorkersRelay(config, state);
    try {
      // The object's alarm, armed with the write, feeds the index after the restart.
      await expect
        .poll(async () => (await api(second.url, '/events')).json.items.map((e: any) => e.id), { timeout: 30_000 })
        .toEqual([id]);
      expect((await api(second.url, `/events/${id}`)).json.id).toBe(id);
      expect((await api(second.url, `/events/${id}/replay?target=crm`, 'POST')).json).toEqual({ replayed: 1 });
      await expect.poll(() => target.requests.length, { timeout: 30_000 }).toBe(1);
      expect(target.requests[0]!.headers['webhook-id']).toBe(id);
      await expect
        .poll(async () => (await api(second.url, '/events?status=delivered')).json.items.map((e: any) => e.id), {
          timeout: 30_000,
        })
        .toEqual([id]);
    } finally {
      await second.kill();
      await target.close();
    }
  }, 180_000);

  it(`builds with wrangler deploy --dry-run into less than ${BUNDLE_BUDGET_BYTES / 1024} KiB gzipped`, () => {
    const out = tempDir();
    execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], { stdio: 'pipe' });
    const gzipped = gzipSync(readFileSync(join(out, 'index.js'))).byteLength;
    console.log(`workers bundle: ${(gzipped / 1024).toFixed(1)} KiB gzipped`);
    expect(gzipped).toBeLessThan(BUNDLE_BUDGET_BYTES);
  }, 120_000);
});

describe('workers rate limits', () => {
  it("applies a rate limit per instance object: each instance's deliveries are spaced, two instances side by side", async () => {
    const target = await startSink(() => ({ status: 200 }));
    const config = {
      instances: { '*': { token: TOKEN } },
      targets: [{ name: 'limited', url: target.url, rateLimit: '5/s' }],
    };
    const relay = await startWorkersRelay(config, tempDir());
    try {
      const post = (instance: number, i: number) =>
        fetch(`${relay.url}/webhook`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({
            typeWebhook: 'incomingMessageReceived',
            instanceData: { idInstance: instance },
            idMessage: `RATE${instance}-${i}`,
            senderData: { chatId: '1@c.us' },
            messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'hi' } },
          }),
        });
      await Promise.all(
        [1101000901, 1101000902].flatMap((instance) => Array.from({ length: 8 }, (_, i) => post(instance, i))),
      );
      await expect.poll(() => target.requests.length, { timeout: 30_000 }).toBe(16);
      const maxInASecond = (times: number[]) =>
        Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1_000).length));
      const of = (instance: number) =>
        target.requests
          .filter((r) => JSON.parse(r.body.toString()).greenapiinstance === String(instance))
          .map((r) => r.at);
      // Each object keeps to 5 a second (one more for jitter)...
      for (const instance of [1101000901, 1101000902]) expect(maxInASecond(of(instance))).toBeLessThanOrEqual(6);
      // ...and two objects together start up to twice that: the limit is per instance (README).
      expect(maxInASecond(target.requests.map((r) => r.at))).toBeGreaterThan(6);
    } finally {
      await relay.kill();
      await target.close();
    }
  }, 90_000);
});

describe('workers reconciliation', () => {
  it('starts reconciling an instance that never had a webhook when the Cron Trigger runs', async () => {
    const instance = '1101000950';
    const journal = await startJournalStandIn(instance, 'cron-api-token');
    const target = await startSink(() => ({ status: 200 }));
    const at = Math.floor(Date.now() / 1000) - 60;
    journal.incoming.push(
      ...['CRON1', 'CRON2'].map((id, i) => ({
        type: 'incoming',
        idMessage: id,
        timestamp: at + i,
        typeMessage: 'textMessage',
        chatId: '79001234567@c.us',
        textMessage: id,
        senderId: '79001234567@c.us',
        senderName: 'Ann',
      })),
    );
    const relay = await startWorkersRelay(
      {
        instances: { [instance]: { token: TOKEN, api: { apiUrl: journal.url, apiToken: 'cron-api-token' } } },
        targets: [{ name: 'crm', url: target.url }],
        reconcile: { every: '1m', overlap: '5m', grace: '0s' },
      },
      tempDir(),
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(journal.calls).toEqual([]); // no notification, no cron yet: nothing started it
      expect((await fetch(`${relay.url}/__scheduled?cron=*/10+*+*+*+*`)).status).toBe(200);
      await expect.poll(() => target.requests.length, { timeout: 30_000 }).toBe(2);
      const events = target.requests.map((r) => JSON.parse(r.body.toString()));
      // Sorted: the target is not per-chat ordered, so the two deliveries may arrive either way.
      expect(events.map((e) => [e.data.message.text, e.data.recovered]).sort()).toEqual([
        ['CRON1', 'journal'],
        ['CRON2', 'journal'],
      ]);
    } finally {
      await relay.kill();
      await target.close();
      await journal.close();
    }
  }, 90_000);
});

describe('workers media archive', () => {
  it('keeps files in R2: byte for byte at a signed link with ranges, a quoted file through downloadFile, a redirect to loopback refused', async () => {
    const instance = '1101000960';
    const photo = randomBytes(200_000);
    let port = 0;
    const host = createServer((req, res) => {
      if (req.url === '/to-loopback')
        return void res.writeHead(302, { location: `http://127.0.0.2:${port}/photo.jpg` }).end();
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': photo.length }).end(photo);
    });
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
    port = (host.address() as AddressInfo).port;
    const journal = await startJournalStandIn(instance, 'media-api-token');
    journal.files.set('79001234567@c.us/QUOTEDR2', `http://127.0.0.1:${port}/photo.jpg`);
    const target = await startSink(() => ({ status: 200 }));
    const relay = await startWorkersRelay(
      {
        instances: { [instance]: { token: TOKEN, api: { apiUrl: journal.url, apiToken: 'media-api-token' } } },
        reconcile: false,
        media: { archive: true, publicUrl: 'https://relay.example', privateNetworks: ['127.0.0.1/32'], retry: [] },
        targets: [{ name: 'archived', url: target.url, media: 'archived' }],
      },
      tempDir(),
      { RELAY_MEDIA_KEY: 'a-media-key-for-the-workers-test-0123456789' },
      { mediaBucket: true },
    );
    try {
      const post = (id: string, messageData: object) =>
        fetch(`${relay.url}/webhook`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({
            typeWebhook: 'incomingMessageReceived',
            instanceData: { idInstance: Number(instance), wid: '1@c.us', typeInstance: 'whatsapp' },
            idMessage: id,
            senderData: { chatId: '79001234567@c.us', sender: '79001234567@c.us' },
            messageData,
          }),
        });
      const image = (url: string) => ({
        typeMessage: 'imageMessage',
        fileMessageData: { downloadUrl: url, mimeType: 'image/jpeg' },
      });
      await post('R2PHOTO', image(`http://127.0.0.1:${port}/photo.jpg`));
      await post('R2REDIRECT', image(`http://127.0.0.1:${port}/to-loopback`));
      await post('R2QUOTE', {
        typeMessage: 'quotedMessage',
        extendedTextMessageData: { text: 'this', stanzaId: 'QUOTEDR2' },
        quotedMessage: { stanzaId: 'QUOTEDR2', typeMessage: 'imageMessage', downloadUrl: '' },
      });
      await expect.poll(() => target.requests.length, { timeout: 30_000 }).toBe(3);
      const messages = new Map(
        target.requests.map((r) => {
          const m = JSON.parse(r.body.toString()).data.message;
          return [m.id, m];
        }),
      );
      const bytesAt = async (link: string, headers: Record<string, string> = {}) => {
        const url = new URL(link);
        const response = await fetch(`${relay.url}${url.pathname}${url.search}`, { headers });
        return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
      };
      const archived = messages.get('R2PHOTO').media;
      expect(archived.archiveError).toBeNull();
      expect(Buffer.compare((await bytesAt(archived.archivedUrl)).bytes, photo)).toBe(0);
      const part = await bytesAt(archived.archivedUrl, { range: 'bytes=1000-1999' });
      expect(part.status).toBe(206);
      expect(Buffer.compare(part.bytes, photo.subarray(1000, 2000))).toBe(0);
      expect(
        (
          await bytesAt(
            archived.archivedUrl.replace(/sig=(.)/, (_: string, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`),
          )
        ).status,
      ).toBe(403);
      const quoted = messages.get('R2QUOTE').replyTo.media;
      expect(Buffer.compare((await bytesAt(quoted.archivedUrl)).bytes, photo)).toBe(0);
      expect(messages.get('R2REDIRECT').media.archiveError).toMatch(/refused: 127\.0\.0\.2 is not a public address/);
    } finally {
      await relay.kill();
      await target.close();
      await journal.close();
      host.close();
    }
  }, 90_000);
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

  it('shows the backlog and dead gauges on /metrics, read from the event index', async () => {
    const response = await fetch(`${relay.url}/metrics`, { headers: { authorization: 'Bearer behaviour-admin' } });
    const text = await response.text();
    expect(text).toMatch(/^green_relay_deliveries_dead\{target="broken"\} [1-9]\d*$/m);
    expect(text).toMatch(/^green_relay_deliveries_pending\{target="ce"\} \d+$/m);
    expect((await fetch(`${relay.url}/metrics`)).status).toBe(401);
  });
});
