// POST /webhook answers every row of contract §1, stores exactly what it says it stores, and
// never lets the token out.
import { afterEach, describe, expect, it } from 'vitest';
import { fixture } from './helpers/fixtures.ts';
import { startRelay, TOKEN, type TestRelay } from './helpers/relay.ts';

const text = fixture('incomingMessageReceived.textMessage.json');
const INSTANCE_TOKEN = 'instance-token-77d0c1';
const relays: TestRelay[] = [];
const answers: string[] = [];

async function relay(config: Parameters<typeof startRelay>[0] = {}) {
  const started = await startRelay(config);
  relays.push(started);
  return started;
}

/** The answer's status and JSON body; every body is kept for the token-leak check. */
async function answer(response: Response) {
  const body = await response.text();
  answers.push(body, JSON.stringify([...response.headers]));
  return { status: response.status, body: JSON.parse(body) as Record<string, any> };
}

const count = (r: TestRelay, table: string) => r.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`)[0]!.n;

afterEach(async () => {
  for (const r of relays.splice(0)) {
    // The token must never reach a log line or an answer.
    for (const line of [...r.logs, ...answers]) {
      expect(line).not.toContain(TOKEN);
      expect(line).not.toContain(INSTANCE_TOKEN);
    }
    await r.close();
  }
  answers.length = 0;
});

describe('accepted', () => {
  it('stores the notification before answering 200 with the event id', async () => {
    const r = await relay();
    const { status, body } = await answer(await r.post(text.bytes));
    expect(status).toBe(200);
    expect(body).toEqual({ status: 'accepted', id: expect.stringMatching(/^[A-Za-z0-9_-]{1,64}$/) });
    const [row] = r.query<{ id: string; body: Buffer; type: string }>('SELECT id, body, type FROM events');
    expect(row!.id).toBe(body.id);
    expect(Buffer.compare(row!.body, text.bytes)).toBe(0);
    expect(row!.type).toBe('com.green-api.message.received');
  });

  it('takes the token as Bearer, Basic or bare, with any capitalisation of the scheme', async () => {
    const r = await relay();
    for (const authorization of [`Bearer ${TOKEN}`, `bearer ${TOKEN}`, `Basic ${TOKEN}`, TOKEN]) {
      const { status } = await answer(await r.post(text.bytes, { token: null, headers: { authorization } }));
      expect(status, authorization.replace(TOKEN, '<token>')).toBe(200);
    }
  });

  it('takes idInstance as a number or a string', async () => {
    const r = await relay();
    const body = { ...text.json, instanceData: { idInstance: '1234', wid: '', typeInstance: 'whatsapp' } };
    const { status, body: json } = await answer(await r.post(body));
    expect(status).toBe(200);
    expect(json.status).toBe('accepted');
    expect(r.query<{ instance: string }>('SELECT instance FROM events')[0]!.instance).toBe('1234');
  });

  it('accepts and stores unknown typeWebhook and typeMessage values', async () => {
    const r = await relay({ targets: [] });
    const unknownWebhook = {
      typeWebhook: 'somethingNew',
      instanceData: { idInstance: 1234, wid: '1@c.us', typeInstance: 'whatsapp' },
      timestamp: 1,
    };
    const unknownMessage = {
      ...text.json,
      idMessage: 'NEW1',
      messageData: { typeMessage: 'hologramMessage', hologramMessageData: { x: 1 } },
    };
    for (const body of [unknownWebhook, unknownMessage])
      expect((await answer(await r.post(body))).body.status).toBe('accepted');
    const types = r.query<{ type: string; data: string }>('SELECT type, data FROM events ORDER BY received_at, rowid');
    expect(types.map((t) => t.type)).toEqual(['com.green-api.other', 'com.green-api.message.received']);
    expect(JSON.parse(types[1]!.data).message).toMatchObject({
      kind: 'unknown',
      typeMessage: 'hologramMessage',
      text: null,
    });
  });
});

describe('duplicate', () => {
  it('answers duplicate for the same notification and stores it only as seen', async () => {
    const r = await relay();
    const first = await answer(await r.post(text.bytes));
    const second = await answer(await r.post(text.bytes));
    expect(second).toEqual({ status: 200, body: { status: 'duplicate', id: first.body.id } });
    expect(r.query('SELECT duplicates FROM events')).toEqual([{ duplicates: 1 }]);
  });
});

describe('quarantined', () => {
  const bad: [string, string | Uint8Array, RegExp][] = [
    ['not JSON', '{"typeWebhook": ', /not JSON/],
    ['not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /not UTF-8/],
    ['a JSON array', '[1, 2]', /not a JSON object/],
    ['without typeWebhook', JSON.stringify({ instanceData: { idInstance: 1234 } }), /typeWebhook/],
    ['without instanceData', JSON.stringify({ typeWebhook: 'incomingMessageReceived' }), /instanceData/],
    [
      'with an idInstance that is not an id',
      JSON.stringify({ typeWebhook: 'x', instanceData: { idInstance: 'abc' } }),
      /instanceData\.idInstance/,
    ],
  ];

  it.each(bad)('keeps a body %s, answers 200 with the reason, and delivers nothing', async (_, body, reason) => {
    const r = await relay({ targets: [{ name: 'crm', url: 'http://127.0.0.1:9/never' }] });
    const { status, body: json } = await answer(await r.post(body));
    expect(status).toBe(200);
    expect(json).toEqual({
      status: 'quarantined',
      reason: expect.stringMatching(reason),
      id: expect.stringMatching(/^q\d+$/),
    });
    const [kept] = r.query<{ body: Buffer; reason: string }>('SELECT body, reason FROM quarantine');
    expect(Buffer.compare(kept!.body, Buffer.from(body))).toBe(0);
    expect(kept!.reason).toBe(json.reason);
    expect(count(r, 'events')).toBe(0);
    expect(count(r, 'deliveries')).toBe(0);
  });
});

describe('unauthorized', () => {
  const config = { instances: { '1101000001': { token: INSTANCE_TOKEN }, '*': { token: TOKEN } } };
  const of = (idInstance: number) => ({
    ...text.json,
    instanceData: { idInstance, wid: '1@c.us', typeInstance: 'whatsapp' },
  });
  const cases: [string, object | string, string | null][] = [
    ['no token', text.json, null],
    ['a wrong token', text.json, 'not-the-token'],
    ["the wildcard's token for an instance with its own entry", of(1101000001), TOKEN],
    ["another instance's token", of(1234), INSTANCE_TOKEN],
    [
      "another instance's token on a malformed body naming an instance",
      JSON.stringify({ instanceData: { idInstance: 1234 } }),
      INSTANCE_TOKEN,
    ],
  ];

  it.each(cases)('answers 401 for %s and stores nothing', async (_, body, token) => {
    const r = await relay(config);
    const { status, body: json } = await answer(await r.post(body, { token }));
    expect(status).toBe(401);
    expect(json).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    expect(count(r, 'events') + count(r, 'quarantine')).toBe(0);
  });

  it('answers 401 for an instance that is not configured', async () => {
    const r = await relay({ instances: { '1101000001': { token: INSTANCE_TOKEN } } });
    expect((await answer(await r.post(text.bytes, { token: INSTANCE_TOKEN }))).status).toBe(401);
    expect((await answer(await r.post(of(1101000001), { token: INSTANCE_TOKEN }))).status).toBe(200);
  });

  it('takes a body naming no instance with the token of any configured instance', async () => {
    const r = await relay({ instances: { '1101000001': { token: INSTANCE_TOKEN } } });
    expect((await answer(await r.post('garbage', { token: INSTANCE_TOKEN }))).body.status).toBe('quarantined');
  });
});

describe('too large', () => {
  const big = JSON.stringify({
    ...text.json,
    messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'x'.repeat(5000) } },
  });

  it('answers 413 for a body over limits.maxBodyBytes, with or without Content-Length, and stores nothing', async () => {
    const r = await relay({ limits: { maxBodyBytes: 4096 } });
    expect(await answer(await r.post(big))).toEqual({
      status: 413,
      body: { error: { code: 'payload_too_large', message: expect.stringContaining('4096') } },
    });

    const chunked = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(big.slice(i * 500, (i + 1) * 500)));
        controller.enqueue(new TextEncoder().encode(big.slice(5000)));
        controller.close();
      },
    });
    const response = await fetch(`${r.url}/webhook`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: chunked,
      duplex: 'half',
    } as RequestInit);
    expect((await answer(response)).status).toBe(413);
    expect(count(r, 'events') + count(r, 'quarantine')).toBe(0);
  });
});

describe('store failing', () => {
  it('answers 503 while the disk is full, half-stores nothing, and accepts again once it has room', async () => {
    const r = await relay({ targets: [{ name: 'crm', url: 'http://127.0.0.1:9/never' }] });
    const large = {
      ...text.json,
      messageData: { typeMessage: 'textMessage', textMessageData: { textMessage: 'y'.repeat(40_000) } },
    };
    // A real SQLITE_FULL: the database may not grow past the pages it has now.
    await r.db.exec('PRAGMA max_page_count = 1');
    const failed = await answer(await r.post(large));
    expect(failed).toEqual({ status: 503, body: { error: { code: 'unavailable', message: expect.any(String) } } });
    expect((await answer(await r.post('x'.repeat(40_000)))).status).toBe(503); // quarantine needs room too
    expect(count(r, 'events') + count(r, 'deliveries') + count(r, 'quarantine')).toBe(0);

    await r.db.exec('PRAGMA max_page_count = 1073741823');
    expect((await answer(await r.post(large))).body.status).toBe('accepted');
    expect(count(r, 'deliveries')).toBe(1);
  });
});

describe('other routes', () => {
  it('answers /healthz and gives unknown routes the error shape', async () => {
    const r = await relay();
    expect(await answer(await fetch(`${r.url}/healthz`))).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await answer(await fetch(`${r.url}/nope`))).body.error.code).toBe('not_found');
  });
});
