// The admin API (contract §6) over real HTTP: auth, filters and paging, replay to a real sink
// with the same webhook-id, bulk replay scoped to one target, quarantine release, OpenAPI.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { OPERATIONS } from '../../src/admin/openapi.ts';
import { shownUrl } from '../../src/admin/targets.ts';
import { createRelay } from '../../src/app.ts';
import { validateConfig } from '../../src/config.ts';
import { createSqlStore } from '../../src/store/sql-store.ts';
import { openBetterSqlite } from '../../src/runtimes/node/sqlite-driver.ts';
import { fixture } from '../helpers/fixtures.ts';
import { startRelay, tempDir, type TestRelay } from '../helpers/relay.ts';
import { startSink, type Responder, type Sink } from '../helpers/sink.ts';

const ADMIN = 'admin-token-93be';
const text = fixture('incomingMessageReceived.textMessage.json').json;

/** Targets on a real sink each; `circuit: false` for one whose deliveries must die rather than be held. */
async function setUp(
  targets: { name: string; respond?: Responder; types?: string[]; circuit?: false }[],
  admin: string | null = ADMIN,
) {
  const sinks: Record<string, Sink> = {};
  for (const t of targets) {
    sinks[t.name] = await startSink(t.respond);
    onTestFinished(() => sinks[t.name]!.close());
  }
  const relay = await startRelay({
    admin: admin ? { token: admin } : {},
    targets: targets.map((t) => ({
      name: t.name,
      url: sinks[t.name]!.url,
      retry: ['20ms'],
      types: t.types,
      circuit: t.circuit,
    })),
  });
  onTestFinished(() => relay.close());
  return { relay, sinks };
}

const api = (relay: TestRelay, path: string, init: RequestInit & { token?: string | null } = {}) =>
  fetch(`${relay.url}${path}`, {
    ...init,
    headers: {
      ...(init.token === null ? {} : { authorization: `Bearer ${init.token ?? ADMIN}` }),
      ...(init.headers as object),
    },
  });
const json = async (response: Response) => {
  expect(response.status, await response.clone().text()).toBe(200);
  return response.json() as Promise<any>;
};
const message = (idMessage: string, chatId = '79001234568@c.us', idInstance = 1234) => ({
  ...text,
  idMessage,
  instanceData: { idInstance, wid: '11001234567@c.us', typeInstance: 'whatsapp' },
  senderData: { chatId, sender: chatId, senderName: 'Test' },
});
const settled = (relay: TestRelay) =>
  expect.poll(() => relay.query("SELECT 1 FROM deliveries WHERE status = 'pending'").length).toBe(0);

describe('auth', () => {
  it('answers 401 without the admin token, 200 with it, on the API and /metrics', async () => {
    const { relay } = await setUp([]);
    for (const path of ['/api/events', '/metrics', '/api/openapi.json']) {
      expect((await api(relay, path, { token: null })).status).toBe(401);
      expect((await api(relay, path, { token: 'wrong' })).status).toBe(401);
      expect((await api(relay, path)).status).toBe(200);
    }
  });

  it('with no admin token configured, generates one into the data folder (0600) and admits nobody without it, loopback included', async () => {
    const { relay } = await setUp([], null);
    const file = join(relay.dataDir, 'admin-token');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const generated = readFileSync(file, 'utf8').trim();
    expect(generated).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(relay.admin).toEqual({ token: generated, generated: file });
    for (const path of ['/api/events', '/metrics', '/api/stream']) {
      expect((await api(relay, path, { token: null })).status, path).toBe(401);
    }
    expect((await api(relay, '/api/events', { token: generated })).status).toBe(200);
  });

  it('keeps the admin surface closed, saying how to open it, where no token can be generated (Workers)', async () => {
    const dir = tempDir();
    const config = validateConfig({ instances: { '*': { token: 't' } } }, {});
    const store = createSqlStore(openBetterSqlite(`${dir}/relay.db`), { dedupWindowMs: 1, retentionMs: 1 });
    const silent = { info() {}, warn() {}, error() {} };
    const how = 'no admin token is configured: run `wrangler secret put RELAY_ADMIN_TOKEN`';
    const app = createRelay({
      config,
      store,
      logger: silent,
      peerAddress: () => '127.0.0.1',
      adminClosedReason: how,
    }).app;
    for (const path of ['/api/events', '/metrics']) {
      const response = await app.request(path, { headers: { authorization: 'Bearer anything' } });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { message: string } }).error.message).toBe(how);
    }
    expect((await app.request('/')).headers.get('location')).toBe('/login?next=%2F');
    expect(await (await app.request('/login')).text()).toContain('wrangler secret put RELAY_ADMIN_TOKEN');
  });
});

describe('the inspector', () => {
  it('puts every page behind the sign-in, whatever its path, and leaves unknown paths to the 404', async () => {
    const config = validateConfig({ instances: { '*': { token: 't' } }, admin: { token: ADMIN } }, {});
    const store = createSqlStore(openBetterSqlite(`${tempDir()}/relay.db`), { dedupWindowMs: 1, retentionMs: 1 });
    const app = createRelay({ config, store, logger: { info() {}, warn() {}, error() {} } }).app;
    const own = new Set(['/webhook', '/healthz', '/login', '/metrics', '/*']);
    const pages = app.routes.filter((r) => !own.has(r.path) && !r.path.startsWith('/api'));
    expect(pages.length).toBeGreaterThanOrEqual(9);
    for (const route of pages) {
      const path = route.path.replace(/:[a-z]+/g, 'x');
      const response = await app.request(path, { method: route.method === 'ALL' ? 'GET' : route.method });
      expect(response.status, `${route.method} ${route.path}`).toBe(303);
      expect(response.headers.get('location')).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    const unknown = await app.request('/no-such-page');
    expect(unknown.status).toBe(404);
  });
});

describe('listing', () => {
  it('filters by status, type, instance, chat, target and time, and pages with a cursor', async () => {
    const { relay } = await setUp([
      { name: 'ok', respond: () => ({ status: 200 }) },
      { name: 'broken', respond: () => ({ status: 500 }), types: ['com.green-api.message.received'], circuit: false },
    ]);
    const before = Date.now();
    await relay.post(message('A'));
    await relay.post(message('B', '79990000001@c.us'));
    await relay.post(message('C', '79001234568@c.us', 4321));
    await relay.post(fixture('outgoingMessageStatus.sent.apidog.json').bytes);
    await relay.post('not json');
    await settled(relay);

    const ids = async (query: string) =>
      (await json(await api(relay, `/api/events?${query}`))).items.map(
        (e: any) => e.type + ':' + (e.subject ?? e.reason),
      );
    expect(await ids('')).toHaveLength(4);
    expect(await ids('status=dead')).toHaveLength(3);
    expect(await ids('status=delivered')).toEqual(['com.green-api.message.status:71231234567@c.us']);
    expect(await ids('status=delivered&target=ok')).toHaveLength(4);
    expect(await ids('status=dead&target=ok')).toHaveLength(0);
    expect(await ids('target=broken')).toHaveLength(3);
    expect(await ids('type=com.green-api.message.status')).toHaveLength(1);
    expect(await ids('type=com.green-api.message.*')).toHaveLength(4);
    expect(await ids('instance=4321')).toEqual(['com.green-api.message.received:79001234568@c.us']);
    expect(await ids('chat=79990000001@c.us')).toHaveLength(1);
    expect(await ids(`since=${new Date(before).toISOString()}`)).toHaveLength(4);
    expect(await ids(`until=${before - 60_000}`)).toHaveLength(0);
    expect(await ids('status=quarantined')).toEqual([expect.stringMatching(/^undefined:body is not JSON/)]);

    const seen: string[] = [];
    let cursor = '';
    for (let page = 0; page < 10; page++) {
      const body = await json(await api(relay, `/api/events?limit=3${cursor}`));
      seen.push(...body.items.map((e: any) => e.id));
      if (!body.next) break;
      cursor = `&cursor=${encodeURIComponent(body.next)}`;
    }
    expect(seen).toHaveLength(4);
    expect(new Set(seen).size).toBe(4);

    const bad = await api(relay, '/api/events?status=lost');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('bad_request');
  });

  it('shows one event with its envelope, raw body and every attempt', async () => {
    const { relay } = await setUp([{ name: 'flaky', respond: (_, i) => ({ status: i === 0 ? 503 : 200 }) }]);
    const { id } = await (await relay.post(fixture('incomingMessageReceived.textMessage.json').bytes)).json();
    await settled(relay);
    const event = await json(await api(relay, `/api/events/${id}`));
    expect(event.event).toMatchObject({ id, type: 'com.green-api.message.received', data: { raw: text } });
    expect(event.raw).toBe(fixture('incomingMessageReceived.textMessage.json').bytes.toString());
    expect(event.preview).toBe('text "I use Green-API to send this message to you!"');
    expect(event.attempts.map((a: any) => [a.series, a.attempt, a.statusCode, a.outcome])).toEqual([
      [0, 1, 503, 'retry'],
      [0, 2, 200, 'delivered'],
    ]);
    expect(event.attempts[0].latencyMs).toBeGreaterThanOrEqual(0);
    expect((await api(relay, '/api/events/nope')).status).toBe(404);
  });
});

describe('replay', () => {
  it('delivers an event again to a real sink, same webhook-id, as a new attempt series', async () => {
    const { relay, sinks } = await setUp([{ name: 'crm' }, { name: 'bot' }]);
    const { id } = await (await relay.post(message('R1'))).json();
    await sinks.crm!.waitFor(1);
    await settled(relay);
    expect(await json(await api(relay, `/api/events/${id}/replay?target=crm`, { method: 'POST' }))).toEqual({
      replayed: 1,
    });
    const [first, second] = await sinks.crm!.waitFor(2);
    expect(second!.headers['webhook-id']).toBe(id);
    expect(second!.body.equals(first!.body)).toBe(true);
    await settled(relay);
    expect(sinks.bot!.requests).toHaveLength(1);
    const event = await json(await api(relay, `/api/events/${id}`));
    expect(event.deliveries.find((d: any) => d.target === 'crm')).toMatchObject({
      series: 1,
      attempts: 1,
      status: 'delivered',
    });
    expect(event.attempts.filter((a: any) => a.target === 'crm').map((a: any) => a.series)).toEqual([0, 1]);

    expect(await json(await api(relay, `/api/events/${id}/replay`, { method: 'POST' }))).toEqual({ replayed: 2 });
    await sinks.bot!.waitFor(2);
    expect((await api(relay, `/api/events/${id}/replay?target=nobody`, { method: 'POST' })).status).toBe(404);
  });

  it('bulk-replays the dead deliveries of one target and of no other', async () => {
    let healthy = false;
    const { relay, sinks } = await setUp([
      { name: 'a', respond: () => ({ status: healthy ? 200 : 500 }), circuit: false },
      { name: 'b', respond: () => ({ status: healthy ? 200 : 500 }), circuit: false },
    ]);
    for (const id of ['D1', 'D2', 'D3']) await relay.post(message(id));
    await expect.poll(() => relay.query("SELECT 1 FROM deliveries WHERE status = 'dead'").length).toBe(6);
    healthy = true;
    expect(await json(await api(relay, '/api/targets/a/replay-dead', { method: 'POST' }))).toEqual({ replayed: 3 });
    await expect
      .poll(() => relay.query("SELECT target FROM deliveries WHERE status = 'delivered'"))
      .toEqual([{ target: 'a' }, { target: 'a' }, { target: 'a' }]);
    expect(relay.query("SELECT target FROM deliveries WHERE status = 'dead'")).toEqual([
      { target: 'b' },
      { target: 'b' },
      { target: 'b' },
    ]);
    expect(sinks.b!.requests).toHaveLength(6); // two attempts each, none since
    expect((await api(relay, '/api/targets/zzz/replay-dead', { method: 'POST' })).status).toBe(404);
  });
});

describe('targets', () => {
  it('masks what may be a credential in a target URL', () => {
    expect(shownUrl('https://hooks.slack.example/services/T0001ABCD/B0002EFGH/abcDEF123ghiJKL456mnoPQR')).toBe(
      'https://hooks.slack.example/services/T0001ABCD/B0002EFGH/…',
    );
    expect(shownUrl('https://user:pass@crm.example.com:8443/whatsapp?key=s3cr3t')).toBe(
      'https://…@crm.example.com:8443/whatsapp?…',
    );
    expect(shownUrl('http://127.0.0.1:3000/green-api/incoming')).toBe('http://127.0.0.1:3000/green-api/incoming');
  });

  it('lists each target with its state and settings, and pauses and resumes one, idempotently', async () => {
    const { relay, sinks } = await setUp([{ name: 'crm' }]);
    const listed = await json(await api(relay, '/api/targets'));
    expect(listed.items).toEqual([
      expect.objectContaining({
        name: 'crm',
        state: 'closed',
        circuit: { afterFailures: 10, probeEvery: '1 minute', holdFor: '7 days' },
        rateLimit: null,
        held: 0,
      }),
    ]);
    expect((await api(relay, '/api/targets', { token: null })).status).toBe(401);
    expect((await api(relay, '/api/targets/crm/pause', { method: 'POST', token: null })).status).toBe(401);

    const paused = await json(await api(relay, '/api/targets/crm/pause', { method: 'POST' }));
    expect(paused).toMatchObject({ name: 'crm', state: 'paused' });
    expect(await json(await api(relay, '/api/targets/crm/pause', { method: 'POST' }))).toMatchObject({
      pausedAt: paused.pausedAt,
    });
    await relay.post(message('P1'));
    await expect.poll(async () => (await json(await api(relay, '/api/targets'))).items[0].held).toBe(1);
    expect(sinks.crm!.requests).toHaveLength(0);

    expect(await json(await api(relay, '/api/targets/crm/resume', { method: 'POST' }))).toMatchObject({
      state: 'closed',
      pausedAt: null,
    });
    await sinks.crm!.waitFor(1);
    expect((await api(relay, '/api/targets/zzz/pause', { method: 'POST' })).status).toBe(404);
  });
});

describe('quarantine release', () => {
  it('turns a corrected body into an event that is delivered, once', async () => {
    const { relay, sinks } = await setUp([{ name: 'crm' }]);
    const broken = JSON.stringify(text).replace('"typeWebhook"', '"typeWebHook"');
    const { id } = await (await relay.post(broken)).json();
    expect((await api(relay, `/api/quarantine/${id}/release`, { method: 'POST' })).status).toBe(422); // still broken as stored
    const released = await json(
      await api(relay, `/api/quarantine/${id}/release`, { method: 'POST', body: JSON.stringify(text) }),
    );
    expect(released.status).toBe('accepted');
    const [delivered] = await sinks.crm!.waitFor(1);
    expect(delivered!.headers['webhook-id']).toBe(released.id);
    const again = await api(relay, `/api/quarantine/${id}/release`, { method: 'POST', body: JSON.stringify(text) });
    expect(again.status).toBe(409);
    expect((await json(await api(relay, `/api/events/${id}`))).releasedAs).toBe(released.id);
  });
});

describe('openapi', () => {
  it('documents every route, and every documented route answers', async () => {
    const { relay } = await setUp([{ name: 'crm' }]);
    const doc = await json(await api(relay, '/api/openapi.json'));
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([...new Set(OPERATIONS.map((op) => op.path))].sort());
    expect(doc.paths['/api/events'].get.parameters.map((p: any) => p.name)).toEqual([
      'status',
      'type',
      'instance',
      'chat',
      'target',
      'since',
      'until',
      'limit',
      'cursor',
    ]);
    for (const op of OPERATIONS) {
      const path = op.path.replace('{id}', 'missing').replace('{name}', 'crm');
      const response = await api(relay, path, { method: op.method.toUpperCase() });
      const body = await response.json();
      // Either an answer or the error shape for the made-up id: never "no such route".
      expect(response.status === 200 || body.error?.message !== `no route for ${op.method.toUpperCase()} ${path}`).toBe(
        true,
      );
      expect(response.status).not.toBe(405);
    }
  });
});
