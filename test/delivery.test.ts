// Delivery to real sinks (contract §4): signatures, headers, retries, Retry-After, 410, timeouts,
// isolation between targets, dead letters, and filters.
import { Webhook } from 'standardwebhooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ConfigInput } from '../src/config.ts';
import { fixture } from './helpers/fixtures.ts';
import { startRelay, type TestRelay } from './helpers/relay.ts';
import { startSink, type Responder, type Sink } from './helpers/sink.ts';
import { SECRET } from './helpers/webhook.ts';

const text = fixture('incomingMessageReceived.textMessage.json');

async function sink(respond?: Responder): Promise<Sink> {
  const s = await startSink(respond);
  onTestFinished(() => s.close());
  return s;
}
async function relay(config: Partial<ConfigInput>): Promise<TestRelay> {
  const r = await startRelay(config);
  onTestFinished(() => r.close());
  return r;
}

type Attempt = { target: string; attempt: number; status_code: number | null; error: string | null; outcome: string };
const attempts = (r: TestRelay) =>
  r.query<Attempt>('SELECT target, attempt, status_code, error, outcome FROM attempts ORDER BY id');
const deliveries = (r: TestRelay) =>
  r.query<{ target: string; status: string; attempts: number }>(
    'SELECT target, status, attempts FROM deliveries ORDER BY id',
  );

/** A notification that is its own event: a text message with its own idMessage. */
const message = (idMessage: string, chatId = '79001234568@c.us', idInstance = 1234) => ({
  ...text.json,
  idMessage,
  instanceData: { idInstance, wid: '11001234567@c.us', typeInstance: 'whatsapp' },
  senderData: { chatId, sender: chatId, senderName: 'Test' },
});

describe('requests', () => {
  it('signs every format with Standard Webhooks over the exact bytes sent', async () => {
    const s = await sink();
    const r = await relay({
      targets: (['cloudevents', 'cloudevents-binary', 'raw'] as const).map((format) => ({
        name: format,
        url: `${s.url}/${format}`,
        format,
        secret: SECRET,
      })),
    });
    const { id } = (await (await r.post(text.bytes)).json()) as { id: string };
    const received = await s.waitFor(3);
    const verifier = new Webhook(SECRET);
    for (const request of received) {
      expect(request.headers['webhook-id']).toBe(id);
      expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      expect(() => verifier.verify(request.body, request.headers as Record<string, string>)).not.toThrow();
      // One flipped byte and the signature no longer holds.
      const tampered = Buffer.from(request.body);
      tampered[tampered.length - 2] ^= 1;
      expect(() => verifier.verify(tampered, request.headers as Record<string, string>)).toThrow();
    }
  });

  it('adds the configured headers, and sends no signature without a secret', async () => {
    const s = await sink();
    const r = await relay({
      targets: [{ name: 'crm', url: s.url, headers: { Authorization: 'Bearer crm-token', 'X-Team': 'sales' } }],
    });
    await r.post(text.bytes);
    const [request] = await s.waitFor(1);
    expect(request!.headers).toMatchObject({
      authorization: 'Bearer crm-token',
      'x-team': 'sales',
      'user-agent': 'green-relay/0.1.0',
    });
    expect(request!.headers['webhook-signature']).toBeUndefined();
    expect(request!.headers['webhook-timestamp']).toBeUndefined();
  });

  it('does not follow redirects', async () => {
    const target = await sink();
    const s = await sink(() => ({ status: 307, headers: { location: target.url } }));
    const r = await relay({ targets: [{ name: 'crm', url: s.url, retry: [] }] });
    await r.post(text.bytes);
    await expect.poll(() => deliveries(r)[0]?.status).toBe('dead');
    expect(target.requests).toHaveLength(0);
    expect(attempts(r)[0]!.error).toContain('redirects are not followed');
  });
});

describe('retries', () => {
  it('delivers on retry after a 500, and records both attempts', async () => {
    const s = await sink((_, i) => ({ status: i === 0 ? 500 : 200, body: i === 0 ? 'database down' : 'ok' }));
    const r = await relay({ targets: [{ name: 'crm', url: s.url, retry: ['50ms', '50ms'] }] });
    await r.post(text.bytes);
    await expect.poll(() => deliveries(r)[0]?.status).toBe('delivered');
    expect(s.requests).toHaveLength(2);
    expect(s.requests[0]!.headers['webhook-id']).toBe(s.requests[1]!.headers['webhook-id']);
    expect(attempts(r)).toEqual([
      { target: 'crm', attempt: 1, status_code: 500, error: 'HTTP 500: database down', outcome: 'retry' },
      { target: 'crm', attempt: 2, status_code: 200, error: null, outcome: 'delivered' },
    ]);
  });

  it('waits as long as Retry-After asks instead of its own schedule', async () => {
    const s = await sink((_, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 }));
    const r = await relay({ targets: [{ name: 'crm', url: s.url, retry: ['20ms'] }] });
    await r.post(text.bytes);
    const [first, second] = await s.waitFor(2);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it('retries on its own schedule when there is no Retry-After', async () => {
    const s = await sink((_, i) => ({ status: i === 0 ? 503 : 200 }));
    const r = await relay({ targets: [{ name: 'crm', url: s.url, retry: ['20ms'] }] });
    await r.post(text.bytes);
    const [first, second] = await s.waitFor(2);
    expect(second!.at - first!.at).toBeLessThan(950);
  });

  it('stops at once on 410 Gone', async () => {
    const s = await sink(() => ({ status: 410 }));
    const r = await relay({ targets: [{ name: 'crm', url: s.url, retry: ['20ms', '20ms', '20ms'] }] });
    await r.post(text.bytes);
    await expect.poll(() => deliveries(r)[0]?.status).toBe('dead');
    expect(attempts(r)).toEqual([{ target: 'crm', attempt: 1, status_code: 410, error: 'HTTP 410', outcome: 'dead' }]);
  });

  it('times out a hanging target and retries it', async () => {
    const s = await sink((_, i) => (i === 0 ? { hang: true } : { status: 200 }));
    const r = await relay({ targets: [{ name: 'crm', url: s.url, timeoutMs: 300, retry: ['20ms'] }] });
    await r.post(text.bytes);
    await expect.poll(() => deliveries(r)[0]?.status).toBe('delivered');
    expect(attempts(r).map((a) => a.error)).toEqual(['timed out after 300 ms', null]);
  });

  it('retries a target that refuses connections or drops them mid-answer', async () => {
    const dropping = await sink((_, i) => (i === 0 ? { drop: true } : { status: 200 }));
    const r = await relay({
      targets: [
        { name: 'refused', url: 'http://127.0.0.1:9/hook', retry: ['20ms'], circuit: false },
        { name: 'dropping', url: dropping.url, retry: ['20ms'] },
      ],
    });
    await r.post(text.bytes);
    await expect.poll(() => deliveries(r).map((d) => d.status)).toEqual(['dead', 'delivered']);
    const errors = attempts(r).filter((a) => a.error !== null);
    expect(errors.filter((a) => a.target === 'refused')).toHaveLength(2);
    expect(errors.find((a) => a.target === 'dropping')!.error).toMatch(/fetch failed|socket|closed/i);
  });

  it('marks a delivery dead when its retries are exhausted, and keeps it', async () => {
    const s = await sink(() => ({ status: 500 }));
    const r = await relay({ targets: [{ name: 'crm', url: s.url, retry: ['20ms', '20ms'], circuit: false }] });
    await r.post(text.bytes);
    await expect.poll(() => deliveries(r)[0]?.status).toBe('dead');
    expect(deliveries(r)).toEqual([{ target: 'crm', status: 'dead', attempts: 3 }]);
    expect(attempts(r).map((a) => a.outcome)).toEqual(['retry', 'retry', 'dead']);
    await expect.poll(() => r.logs.some((line) => line.includes('"delivery.dead"'))).toBe(true);
  });

  it('holds a lone delivery that outlives its schedule against a target that is down, and delivers it when it is back', async () => {
    let up = false;
    const s = await sink(() => ({ status: up ? 200 : 503 }));
    const circuit = { afterFailures: 10, probeEvery: '100ms', holdFor: '1h' };
    const r = await relay({ targets: [{ name: 'crm', url: s.url, retry: ['20ms', '20ms'], circuit }] });
    await r.post(text.bytes);
    // Three attempts, fewer than afterFailures, but the target never answered: held, not dead.
    await expect.poll(() => attempts(r).map((a) => a.outcome)).toEqual(['retry', 'retry', 'held']);
    await expect.poll(() => attempts(r).length).toBeGreaterThan(3); // probes
    expect(deliveries(r)[0]?.status).toBe('pending');
    up = true;
    await expect.poll(() => deliveries(r)[0]?.status).toBe('delivered');
    expect(r.logs.some((line) => line.includes('"delivery.dead"'))).toBe(false);
  });

  it('never lets a hanging target delay a healthy one', async () => {
    const stuck = await sink(() => ({ hang: true }));
    const healthy = await sink();
    const r = await relay({
      targets: [
        { name: 'stuck', url: stuck.url, timeoutMs: 60_000, concurrency: 2 },
        { name: 'healthy', url: healthy.url },
      ],
    });
    for (let i = 0; i < 30; i++) expect((await r.post(message(`M${i}`))).status).toBe(200);
    await healthy.waitFor(30, 5_000);
    expect(stuck.requests).toHaveLength(2);
  });
});

describe('filters', () => {
  it('sends each event to the targets whose types, instances and chats match', async () => {
    const s = await sink();
    const r = await relay({
      targets: [
        { name: 'all', url: `${s.url}/all` },
        { name: 'messages', url: `${s.url}/messages`, types: ['com.green-api.message.*'] },
        {
          name: 'statuses',
          url: `${s.url}/statuses`,
          types: ['com.green-api.message.status', 'com.green-api.instance.state'],
        },
        { name: 'instance', url: `${s.url}/instance`, instances: ['1101000002'] },
        { name: 'chat', url: `${s.url}/chat`, chats: ['79990000001@c.us'] },
      ],
    });
    const sent = [
      message('A1'), // all, messages
      message('A2', '79990000001@c.us'), // all, messages, chat
      fixture('outgoingMessageStatus.sent.apidog.json').bytes, // instance 1101000002: all, messages, statuses, instance
      fixture('stateInstanceChanged.notAuthorized.json').bytes, // all, statuses
    ]; // 11 deliveries in all
    for (const body of sent) expect((await r.post(body)).status).toBe(200);
    await expect
      .poll(() => r.query<{ n: number }>("SELECT COUNT(*) AS n FROM deliveries WHERE status = 'delivered'")[0]!.n)
      .toBe(11);
    const by = (target: string) => s.requests.filter((q) => q.path.endsWith(`/${target}`)).length;
    expect({
      all: by('all'),
      messages: by('messages'),
      statuses: by('statuses'),
      instance: by('instance'),
      chat: by('chat'),
    }).toEqual({
      all: 4,
      messages: 3,
      statuses: 2,
      instance: 1,
      chat: 1,
    });
  });
});
