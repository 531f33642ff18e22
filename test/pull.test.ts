// Pull mode against a local stand-in for Green API's HTTP API: every fixture pulled reaches a
// real sink and the queue ends empty; a crash between ingest and delete loses and doubles
// nothing; 500s and hanging calls are backed off and recovered from; order is kept.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createRelay } from '../src/app.ts';
import { validateConfig } from '../src/config.ts';
import { createJsonLogger } from '../src/log.ts';
import { startPuller } from '../src/pull/puller.ts';
import { openBetterSqlite } from '../src/runtimes/node/sqlite-driver.ts';
import { createSqlStore } from '../src/store/sql-store.ts';
import { fixture, loadFixtures } from './helpers/fixtures.ts';
import { startFakeGreenApi, type FakeGreenApi } from './helpers/green-api.ts';
import { spawnRelay } from './helpers/process.ts';
import { startRelay, tempDir } from './helpers/relay.ts';
import { startSink, type Sink } from './helpers/sink.ts';

const INSTANCE = '1101000001';
const API_TOKEN = 'api-token-for-pull-tests';

async function fakeApi(options?: { maxWaitMs?: number }): Promise<FakeGreenApi> {
  const api = await startFakeGreenApi(INSTANCE, API_TOKEN, options);
  onTestFinished(() => api.close());
  return api;
}
async function sink(): Promise<Sink> {
  const s = await startSink();
  onTestFinished(() => s.close());
  return s;
}
const pulled = (api: FakeGreenApi) => ({
  [INSTANCE]: { pull: { apiUrl: api.url, apiToken: API_TOKEN, receiveTimeout: 5 } },
});

/** The pull path in this process (no dispatcher): puller, ingestor and a real SQLite store; logs kept for checks. */
function inProcess(api: FakeGreenApi, sinkUrl: string, options: { pollMarginMs?: number } = {}) {
  const dir = tempDir();
  const config = validateConfig(
    { instances: pulled(api), targets: [{ name: 'raw', url: sinkUrl, format: 'raw' }] },
    {},
  );
  const db = openBetterSqlite(`${dir}/relay.db`);
  const store = createSqlStore(db, { dedupWindowMs: config.dedupWindowMs, retentionMs: config.retentionMs });
  const logs: string[] = [];
  const logger = createJsonLogger((line) => logs.push(line));
  const { ingest } = createRelay({ config, store, logger });
  const puller = startPuller({
    instance: INSTANCE,
    pull: config.instances[INSTANCE]!.pull!,
    fetch,
    ingest,
    logger,
    now: Date.now,
    backoffMs: 50,
    ...options,
  });
  return {
    db,
    logs,
    puller,
    events: () => db.all<{ id: string; body: Uint8Array }>('SELECT id, body FROM events ORDER BY received_at, rowid'),
  };
}

describe('pull mode', () => {
  it('delivers every fixture it pulls to a real sink, and leaves the queue empty', async () => {
    const api = await fakeApi();
    const target = await sink();
    // Many examples share an idMessage; each is made its own message so that each is delivered.
    const bodies = loadFixtures().map((f, i) =>
      typeof f.json.idMessage === 'string' ? { ...f.json, idMessage: `${f.json.idMessage}-${i}` } : f.json,
    );
    for (const body of bodies) api.enqueue(body);
    const relay = await startRelay({
      instances: pulled(api),
      targets: [{ name: 'raw', url: target.url, format: 'raw' }],
    });
    onTestFinished(() => relay.close());
    await target.waitFor(bodies.length, 20_000);
    // The last delivery can arrive before the puller's deleteNotification for it has landed.
    await expect.poll(() => api.queue).toEqual([]);
    // Every one, each once; the order of arrival is the store's (see the ordering test below), but
    // deliveries to a target without per-chat ordering run side by side.
    const sorted = (texts: string[]) => texts.toSorted();
    expect(sorted(target.requests.map((r) => r.body.toString()))).toEqual(sorted(bodies.map((b) => JSON.stringify(b))));
    expect(api.calls.filter((c) => c.startsWith('DELETE'))).toHaveLength(bodies.length);
    // A pulled instance takes nothing through POST /webhook, not even with another instance's token.
    expect((await relay.post(fixture('incomingMessageReceived.textMessage.json').json)).status).toBe(401);
  });

  it('keeps a notification that is not one in quarantine, and still deletes it', async () => {
    const api = await fakeApi();
    api.enqueue({ something: 'else' });
    const relay = inProcess(api, 'http://127.0.0.1:9/none');
    await expect.poll(() => api.queue.length).toBe(0);
    expect(relay.db.all('SELECT instance, reason FROM quarantine')).toEqual([
      { instance: INSTANCE, reason: expect.stringContaining('typeWebhook') },
    ]);
    await relay.puller.stop();
  });

  it('after a crash between ingest and delete, takes it again as a duplicate and delivers it once', async () => {
    const api = await fakeApi();
    // The target refuses until the crash is over, so that only deliveries from the store count.
    let accepting = false;
    const accepted: string[] = [];
    const target = await startSink((request) => {
      if (!accepting) return { status: 503 };
      accepted.push(String(request.headers['webhook-id']));
      return { status: 200 };
    });
    onTestFinished(() => target.close());
    const dataDir = tempDir();
    const config = {
      instances: pulled(api),
      targets: [{ name: 'crm', url: target.url, retry: Array(20).fill('100ms') }],
    };
    api.hold('deleteNotification');
    api.enqueue(fixture('incomingMessageReceived.textMessage.json').json);
    const first = await spawnRelay(config, dataDir);
    onTestFinished(() => void first.child.kill('SIGKILL'));
    await expect.poll(() => api.calls.includes('DELETE deleteNotification 1')).toBe(true); // ingested, not yet deleted
    first.child.kill('SIGKILL');
    await first.exited;
    api.release();
    expect(api.queue).toHaveLength(1);
    accepting = true;

    const second = await spawnRelay(config, dataDir);
    onTestFinished(() => void second.child.kill('SIGKILL'));
    await expect.poll(() => api.queue.length, { timeout: 15_000 }).toBe(0);
    // Polled: the relay writes a turn's log lines after the turn, so the delete can reach the API first.
    await expect.poll(() => second.output()).toMatch(/"event":"pull\.received".*"status":"duplicate"/);
    await expect.poll(() => accepted.length).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(accepted).toHaveLength(1);
  });

  it('backs off on 500s and on a call that hangs, and recovers with nothing lost', async () => {
    const api = await fakeApi({ maxWaitMs: 200 }); // empty polls come back at once, so the held one starts soon
    api.failNext(3);
    api.enqueue(fixture('incomingMessageReceived.textMessage.json').json);
    const relay = inProcess(api, 'http://127.0.0.1:9/none', { pollMarginMs: 300 });
    await expect.poll(() => relay.events().length).toBe(1);
    expect(relay.logs.filter((line) => line.includes('"pull.failed"'))).toHaveLength(3);
    expect(relay.logs.join('\n')).not.toContain(API_TOKEN);

    api.hold('receiveNotification');
    await expect
      .poll(() => relay.logs.some((line) => line.includes('"pull.failed"') && line.includes('TimeoutError')), {
        timeout: 30_000,
      })
      .toBe(true);
    api.release();
    api.enqueue(fixture('outgoingMessageStatus.sent.apidog.json').json);
    await expect.poll(() => relay.events().length, { timeout: 15_000 }).toBe(2);
    await expect.poll(() => api.queue.length).toBe(0);
    await relay.puller.stop();
  });

  it('ingests the notifications of an instance in the order the API gives them, and stops at once', async () => {
    const api = await fakeApi();
    const text = fixture('incomingMessageReceived.textMessage.json').json;
    const bodies = Array.from({ length: 20 }, (_, i) => ({ ...text, idMessage: `ORDER${i}` }));
    for (const body of bodies) api.enqueue(body);
    const relay = inProcess(api, 'http://127.0.0.1:9/none');
    await expect.poll(() => relay.events().length).toBe(20);
    expect(relay.events().map((e) => JSON.parse(Buffer.from(e.body).toString()).idMessage)).toEqual(
      bodies.map((b) => b.idMessage),
    );
    // Stopping aborts the pending long poll instead of waiting out receiveTimeout (5 s).
    const started = Date.now();
    await relay.puller.stop();
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
